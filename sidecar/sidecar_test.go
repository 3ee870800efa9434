package sidecar

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/labels"
)

func TestParseFlagsWinOverEnvironment(t *testing.T) {
	env := map[string]string{
		"TINYFORGE_LISTEN":  ":1111",
		"TINYFORGE_NETWORK": "from-env",
		"TINYFORGE_DRAIN":   "7s",
		"TINYFORGE_LABELS":  "team=a,tier=web",
	}
	c, err := Parse([]string{"--network", "from-flag"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":1111" || c.Network != "from-flag" || c.Drain != 7*time.Second || c.RedisURL != "redis://127.0.0.1:6379/0" {
		t.Fatalf("config = %+v", c)
	}
	if c.Labels["team"] != "a" || c.Labels["tier"] != "web" {
		t.Fatalf("labels = %v", c.Labels)
	}
}

func TestParseRefusesBadSettings(t *testing.T) {
	cases := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"proxy":        {args: []string{"--proxy", "haproxy"}, want: `--proxy "haproxy"`},
		"env duration": {env: map[string]string{"TINYFORGE_DRAIN": "soon"}, want: "TINYFORGE_DRAIN"},
		"flag":         {args: []string{"--drain", "soon"}, want: "invalid value"},
		"labels":       {args: []string{"--labels", "novalue"}, want: `"novalue": want key=value`},
		"own labels":   {args: []string{"--labels", "tinyforge.managed=true"}, want: "tinyforge.* labels are the sidecar's own"},
		"extra arg":    {args: []string{"now"}, want: `unexpected argument "now"`},
		"interval":     {args: []string{"--reconcile-interval", "0s"}, want: "--reconcile-interval"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(c.args, func(k string) string { return c.env[k] })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func controller(name string, created int64, lbls map[string]string) deployer.Container {
	return deployer.Container{ID: name, Name: name, Running: true, Created: time.Unix(created, 0), Labels: lbls}
}

func TestCollectWorkloads(t *testing.T) {
	web := map[string]string{"tinyforge.workloads.web.image": "reg/web", "tinyforge.workloads.web.port": "80"}
	list := []deployer.Container{
		controller("second", 2, map[string]string{
			"tinyforge.workloads.web.image": "reg/web", "tinyforge.workloads.web.port": "80", // same as first
			"tinyforge.workloads.api.image": "reg/other", "tinyforge.workloads.api.port": "81",
		}),
		controller("first", 1, map[string]string{
			"tinyforge.workloads.web.image": web["tinyforge.workloads.web.image"], "tinyforge.workloads.web.port": "80",
			"tinyforge.workloads.api.image": "reg/api", "tinyforge.workloads.api.port": "81",
			"tinyforge.workloads.bad.image": "reg/bad", "tinyforge.workloads.bad.port": "80a",
		}),
		{ID: "stopped", Name: "stopped", Labels: map[string]string{"tinyforge.workloads.off.image": "reg/off"}},
	}
	ws, problems := collectWorkloads(list)
	if len(ws) != 1 || ws["web"] == nil || ws["web"].Image != "reg/web" {
		t.Fatalf("workloads = %v, want web only (declared identically twice; api conflicts; bad is invalid)", ws)
	}
	if p := strings.Join(problems["first"], "\n"); !strings.Contains(p, `tinyforge.workloads.bad.port: "80a"`) {
		t.Fatalf("problems of first = %q", p)
	}
	for _, ctl := range []string{"first", "second"} {
		if p := strings.Join(problems[ctl], "\n"); !strings.Contains(p, "workload api is declared differently by controllers first, second") {
			t.Fatalf("problems of %s = %q, want the api conflict", ctl, p)
		}
	}
}

func TestSameRepository(t *testing.T) {
	same := [][2]string{{"nginx", "docker.io/library/nginx"}, {"index.docker.io/library/nginx", "nginx"}, {"127.0.0.1:5000/App", "127.0.0.1:5000/app"}}
	for _, p := range same {
		if !sameRepository(p[0], p[1]) {
			t.Errorf("%s and %s should match", p[0], p[1])
		}
	}
	if sameRepository("127.0.0.1:5000/app", "127.0.0.1:5001/app") {
		t.Error("different registries matched")
	}
}

// hookSidecar is a Sidecar with a fake controller source and a queue that
// records what it is asked to deploy.
type hookSidecar struct {
	*Sidecar
	mu     sync.Mutex
	queued []deployer.Request
}

type staticSource struct{ list []deployer.Container }

func (s staticSource) List(context.Context, map[string]string) ([]deployer.Container, error) {
	return s.list, nil
}

func (s staticSource) Events(context.Context, time.Time, map[string]string, ...string) (<-chan dockerhost.Event, <-chan error) {
	return nil, nil
}

func newHookSidecar(t *testing.T) *hookSidecar {
	t.Helper()
	h := &hookSidecar{}
	src := staticSource{list: []deployer.Container{controller("ctl", 1, map[string]string{
		"tinyforge.workloads.web.image": "127.0.0.1:5000/demo", "tinyforge.workloads.web.port": "8080",
	})}}
	h.Sidecar = &Sidecar{
		cfg:         Config{WebhookToken: "s3cret"},
		log:         zerolog.Nop(),
		controllers: NewControllers(src, "", zerolog.Nop()),
	}
	if err := h.controllers.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.queue = deployer.NewQueue(func(_ context.Context, r deployer.Request) {
		h.mu.Lock()
		h.queued = append(h.queued, r)
		h.mu.Unlock()
	})
	t.Cleanup(func() { h.queue.Close(time.Second) })
	return h
}

func (h *hookSidecar) post(t *testing.T, auth, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/hooks/distribution", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.routes().ServeHTTP(rec, req)
	return rec
}

const v1Events = "application/vnd.docker.distribution.events.v1+json"

func TestDistributionHook(t *testing.T) {
	sample, err := os.ReadFile("../webhook/testdata/distribution-v3-manifest-push.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, auth, contentType, body string
		want                          int
		wantErr                       string
	}{
		{"no token", "", v1Events, string(sample), 401, "bearer token"},
		{"wrong token", "Bearer nope", v1Events, string(sample), 401, "bearer token"},
		{"malformed", "Bearer s3cret", v1Events, `{"events": [`, 400, "decode distribution events"},
		{"content type", "Bearer s3cret", "text/plain", string(sample), 415, "content type"},
		{"too large", "Bearer s3cret", v1Events, `{"events":[],"pad":"` + strings.Repeat("x", maxBody) + `"}`, 413, "larger than 1 MiB"},
		{"unknown image", "Bearer s3cret", v1Events, strings.ReplaceAll(string(sample), `"demo"`, `"other"`), 202, ""},
		{"push", "Bearer s3cret", v1Events, string(sample), 202, ""},
	}
	h := newHookSidecar(t)
	for _, c := range cases {
		rec := h.post(t, c.auth, c.contentType, c.body)
		if rec.Code != c.want || !strings.Contains(rec.Body.String(), c.wantErr) {
			t.Errorf("%s: %d %s, want %d mentioning %q", c.name, rec.Code, rec.Body, c.want, c.wantErr)
		}
		if rec.Code != 202 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s: error body is not JSON", c.name)
		}
	}
	waitQueued(t, h, 1)
	got := h.queued[0]
	if got.Workload != "web" || got.Tag != "v1" || !strings.HasPrefix(got.Digest, "sha256:fe6664b6") || got.Source != "distribution" {
		t.Fatalf("queued %+v", got)
	}
}

func TestWebhooksAndAPIAreDisabledWithoutTokens(t *testing.T) {
	h := newHookSidecar(t)
	h.cfg.WebhookToken = ""
	if rec := h.post(t, "Bearer ", v1Events, `{"events":[]}`); rec.Code != http.StatusForbidden {
		t.Fatalf("webhook without configured token: %d, want 403", rec.Code)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/workloads", nil)
	req.Header.Set("Authorization", "Bearer ")
	h.routes().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "disabled") {
		t.Fatalf("API without configured token: %d %s, want 403 disabled", rec.Code, rec.Body)
	}
}

func waitQueued(t *testing.T, h *hookSidecar, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		got := len(h.queued)
		h.mu.Unlock()
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			t.Fatalf("queued %d requests, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOrphansAreReportedAndExpireAfterGrace(t *testing.T) {
	var o orphans
	o.since = map[string]time.Time{}
	managed := func(workload string) deployer.Container {
		return deployer.Container{Labels: map[string]string{"tinyforge.managed": "true", "tinyforge.workload": workload}}
	}
	snapshot := []deployer.Container{managed("web"), managed("old"), managed("old")}
	declared := map[string]*labels.Workload{"web": {Name: "web"}}
	t0 := time.Unix(1000, 0)

	status, expired := o.update(snapshot, declared, t0, time.Minute)
	if len(status) != 1 || status["old"].Containers != 2 || !status["old"].Since.Equal(t0) || len(expired) != 0 {
		t.Fatalf("first pass: status %v, expired %v", status, expired)
	}
	if _, expired = o.update(snapshot, declared, t0.Add(59*time.Second), time.Minute); len(expired) != 0 {
		t.Fatalf("expired before the grace: %v", expired)
	}
	if _, expired = o.update(snapshot, declared, t0.Add(time.Minute), time.Minute); !slices.Equal(expired, []string{"old"}) {
		t.Fatalf("expired = %v, want [old]", expired)
	}
	// Declared again (a compose recreate): no longer an orphan, clock reset.
	declared["old"] = &labels.Workload{Name: "old"}
	if status, _ = o.update(snapshot, declared, t0.Add(2*time.Minute), time.Minute); len(status) != 0 {
		t.Fatalf("redeclared workload still orphaned: %v", status)
	}
	delete(declared, "old")
	if status, expired = o.update(snapshot, declared, t0.Add(3*time.Minute), time.Minute); len(expired) != 0 || !status["old"].Since.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("orphan clock not reset: %v %v", status, expired)
	}
}
