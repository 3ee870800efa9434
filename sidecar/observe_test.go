package sidecar

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/controllers"
	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testlog"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/metrics"
	"github.com/tinyforge/tinyforge/notify"
)

// messages is a real HTTP receiver of shoutrrr's generic webhook
// (template=json), keeping each message's title.
type messages struct {
	srv    *httptest.Server
	mu     sync.Mutex
	titles []string
}

func newMessages(t *testing.T) *messages {
	t.Helper()
	m := &messages{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Title, Message string }
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		m.mu.Lock()
		m.titles = append(m.titles, body.Title)
		m.mu.Unlock()
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// url is the target URL of the receiver.
func (m *messages) url() string {
	return "generic://" + m.srv.Listener.Addr().String() + "/hook?disabletls=yes&template=json"
}

func (m *messages) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.titles...)
}

// settle waits until the receiver has n messages and no more arrive for a
// while, and returns them.
func (m *messages) settle(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(m.got()) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // several windows: a message too many would show
	return m.got()
}

// runNotifier builds and runs a notifier of targets (NAME=URL) with a
// short window and default targets def, reporting to m.
func runNotifier(t *testing.T, m *metrics.Metrics, def string, targets ...string) *notify.Notifier {
	t.Helper()
	n, err := notify.New(notify.Config{Targets: targets, Default: def, Window: 10 * time.Millisecond},
		notify.Options{Report: m.NotificationSent, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.Run(context.Background()) }()
	t.Cleanup(n.Close)
	return n
}

// TestObserverRoutesMessagesByTheNotifyLabel: a deploy outcome goes to the
// targets its workload's label names, to the default ones when it names
// none, nowhere when it says none; a skipped request sends nothing but is
// counted.
func TestObserverRoutesMessagesByTheNotifyLabel(t *testing.T) {
	ops, dev := newMessages(t), newMessages(t)
	m := metrics.New(metrics.Options{})
	n := runNotifier(t, m, "ops", "ops="+ops.url(), "dev="+dev.url())
	declared := map[string]*labels.Workload{
		"shop":  {Name: "shop", Notify: "dev"},
		"blog":  {Name: "blog"},
		"quiet": {Name: "quiet", Notify: labels.NotifyNone},
	}
	o := &observer{metrics: m, notify: n, log: zerolog.Nop(), workload: func(name string) *labels.Workload { return declared[name] }}

	deployed := deployer.Event{Outcome: deployer.OutcomeDeployed, Tag: "v2", Digest: "sha256:abc", Time: time.Now()}
	o.DeployFinished("shop", deployed)
	o.DeployFinished("quiet", deployed)
	o.RequestFinished("blog", deployer.Event{Outcome: "failed: manifest unknown"})
	o.RequestFinished("shop", deployer.Event{Outcome: "duplicate: r/shop:v2 already serves"})

	if got := dev.settle(t, 1); len(got) != 1 || got[0] != "tinyforge: shop: deployed v2" {
		t.Errorf("dev got %q, want only shop's deploy", got)
	}
	if got := ops.settle(t, 1); len(got) != 1 || got[0] != "tinyforge: blog: deploy of - failed" {
		t.Errorf("ops (the default) got %q, want only blog's failure", got)
	}
	body := scrapeText(t, m.Handler(""))
	for _, want := range []string{
		`tinyforge_deploys_total{outcome="succeeded",workload="shop"} 1`,
		`tinyforge_deploys_total{outcome="succeeded",workload="quiet"} 1`,
		`tinyforge_deploys_total{outcome="failed",workload="blog"} 1`,
		`tinyforge_deploys_total{outcome="skipped",workload="shop"} 1`,
		`tinyforge_notifications_total{outcome="sent",target="dev"} 1`,
		`tinyforge_notifications_total{outcome="sent",target="ops"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestObserveStateNotifiesOnceAndForgets: an orphan is reported once
// however many passes see it, again after it was resolved and came back;
// a workload gone from Docker and the controllers leaves the metrics.
func TestObserveStateNotifiesOnceAndForgets(t *testing.T) {
	ops := newMessages(t)
	s := newTestSidecar(Config{}, nil, zerolog.Nop())
	m := metrics.New(metrics.Options{})
	s.observe(m, runNotifier(t, m, "", "ops="+ops.url()))
	ctx := context.Background()
	snap := []deployer.Container{
		{ID: "1", State: "running", Labels: map[string]string{labels.ManagedWorkload: "gone"}},
		{ID: "2", State: "exited", Labels: map[string]string{labels.ManagedWorkload: "gone"}},
	}
	orphaned := map[string]controllers.OrphanStatus{"gone": {Containers: 2}}

	s.observeState(ctx, snap, orphaned)
	s.observeState(ctx, snap, orphaned)
	if got := ops.settle(t, 1); len(got) != 1 || got[0] != "tinyforge: gone: orphaned" {
		t.Fatalf("after two passes: %q, want one orphaned message", got)
	}
	body := scrapeText(t, m.Handler(""))
	for _, want := range []string{`tinyforge_workloads{state="orphaned"} 1`, `tinyforge_instances{state="running",workload="gone"} 1`,
		`tinyforge_instances{state="exited",workload="gone"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	s.observeState(ctx, nil, nil) // torn down
	if body := scrapeText(t, m.Handler("")); strings.Contains(body, `workload="gone"`) || !strings.Contains(body, `tinyforge_workloads{state="orphaned"} 0`) {
		t.Errorf("after the teardown the metrics still show gone:\n%s", body)
	}
	s.observeState(ctx, snap, orphaned) // back: news again
	if got := ops.settle(t, 2); len(got) != 2 {
		t.Fatalf("after a relapse: %q, want a second orphaned message", got)
	}
}

// TestObserveStateCountsTasks: on a swarm each service of a workload counts
// once in tinyforge_instances, by service state, and its tasks meant to run
// in tinyforge_tasks, by task state.
func TestObserveStateCountsTasks(t *testing.T) {
	s := newTestSidecar(Config{}, nil, zerolog.Nop())
	m := metrics.New(metrics.Options{Swarm: true})
	s.observe(m, nil)
	web := map[string]string{labels.ManagedWorkload: "web"}
	snap := []deployer.Container{
		{ID: "s1", State: "running", Labels: web, Tasks: []deployer.TaskAt{{Slot: 1, State: "running"}, {Slot: 2, State: "running"}}},
		{ID: "s2", State: "starting", Labels: web, Tasks: []deployer.TaskAt{{Slot: 1, State: "running"}, {Slot: 2, State: "preparing"}}},
	}
	s.observeState(context.Background(), snap, nil)
	body := scrapeText(t, m.Handler(""))
	for _, want := range []string{
		`tinyforge_instances{state="running",workload="web"} 1`,
		`tinyforge_instances{state="starting",workload="web"} 1`,
		`tinyforge_tasks{state="running",workload="web"} 3`,
		`tinyforge_tasks{state="preparing",workload="web"} 1`,
		`tinyforge_tasks{state="failed",workload="web"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func scrapeText(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	return rec.Body.String()
}

// TestMetricsRoute: /metrics on the sidecar's listener behind
// --metrics-token, counting refused deliveries, passing promtool; no path
// under the public hooks prefix serves it.
func TestMetricsRoute(t *testing.T) {
	s, _ := newHTTPSidecar(t, secAPIToken, secHookToken)
	s.cfg.Metrics.Token = "metrics-token-under-test"
	url := serve(t, s)
	c := &http.Client{Timeout: 10 * time.Second}
	if code, _ := do(t, c, http.MethodPost, url+"/v1/hooks/distribution", "wrong", []byte(`{}`)); code != http.StatusUnauthorized {
		t.Fatalf("wrong hook token: %d", code)
	}
	if code, _ := do(t, c, http.MethodPost, url+"/v1/hooks/distribution", secHookToken, []byte(`{"events":`)); code/100 != 4 {
		t.Fatalf("malformed delivery: %d", code)
	}
	for _, tok := range []string{"", secAPIToken, "wrong"} {
		if code, _ := do(t, c, http.MethodGet, url+"/metrics", tok, nil); code != http.StatusUnauthorized {
			t.Errorf("GET /metrics with token %q: %d, want 401", tok, code)
		}
	}
	code, body := do(t, c, http.MethodGet, url+"/metrics", s.cfg.Metrics.Token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics with the metrics token: %d", code)
	}
	for _, want := range []string{`tinyforge_webhook_deliveries_total{outcome="unauthorized",source="distribution"} 1`,
		`tinyforge_webhook_deliveries_total{outcome="rejected",source="distribution"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	promtoolCheck(t, body)

	// Open metrics (no token): still nothing under /v1/hooks/ serves them,
	// and a path that cleans to /metrics is only redirected.
	s.cfg.Metrics.Token = ""
	url = serve(t, s)
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/v1/hooks/metrics", "/v1/hooks/distribution/metrics", "/v1/hooks/../metrics", "/v1/hooks/%2e%2e/metrics", "/v1/hooks/dockerhub/metrics"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			code, body := do(t, noRedirect, method, url+p, secHookToken, nil)
			if strings.Contains(body, "tinyforge_") {
				t.Errorf("%s %s = %d serves metrics", method, p, code)
			}
		}
	}
	if code, _ := do(t, c, http.MethodGet, url+"/metrics", "", nil); code != http.StatusOK {
		t.Errorf("open /metrics: %d", code)
	}
}

// promtoolCheck lints body with Prometheus' promtool (Debian package
// prometheus), failing under CI=true when it is missing.
func promtoolCheck(t *testing.T, body string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testsvc.Unavailable(t, "promtool not installed (Debian package prometheus: scripts/install-deps.sh installs it)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(strings.TrimSpace(body) + "\n")
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestMetricsAndNotifyFlags: the packages' flags come with their
// environment twins, secrets with _FILE, and --notify adds up.
func TestMetricsAndNotifyFlags(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(tokenFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"TINYFORGE_METRICS_TOKEN_FILE": tokenFile,
		"TINYFORGE_NOTIFY":             "ops=ntfy://ntfy.example/ops\ndev=generic+https://hooks.example/dev",
		"TINYFORGE_NOTIFY_DEFAULT":     "ops",
		"TINYFORGE_NOTIFY_WINDOW":      "2s",
	}
	c, err := Parse([]string{"--notify", "pager=ntfy://ntfy.example/pager"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Token != "from-file" {
		t.Errorf("metrics token %q, want the file's", c.Metrics.Token)
	}
	if got := strings.Join(c.Notify.Targets, " "); got != "ops=ntfy://ntfy.example/ops dev=generic+https://hooks.example/dev pager=ntfy://ntfy.example/pager" {
		t.Errorf("notify targets %q", got)
	}
	if c.Notify.Default != "ops" || c.Notify.Window != 2*time.Second {
		t.Errorf("notify default %q, window %s", c.Notify.Default, c.Notify.Window)
	}
	var usage strings.Builder
	Usage(&usage)
	for _, want := range []string{"TINYFORGE_METRICS_TOKEN", "TINYFORGE_NOTIFY)", "TINYFORGE_NOTIFY_FILE", "-metrics-token-file"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("usage lacks %s", want)
		}
	}
}

// TestUnknownNotifyTargetIsReported: a label naming a target no --notify
// configures is logged when the labels are read, naming the workload and
// the target.
func TestUnknownNotifyTargetIsReported(t *testing.T) {
	var logs testlog.Buffer
	m := metrics.New(metrics.Options{})
	o := &observer{metrics: m, notify: runNotifier(t, m, "", "ops="+newMessages(t).url()), log: zerolog.New(&logs)}
	o.checkTargets([]*labels.Workload{{Name: "shop", Notify: "ops,pager"}, {Name: "blog", Notify: "none"}})
	out := logs.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, `"workload":"shop"`) || !strings.Contains(out, `"target":"pager"`) {
		t.Fatalf("logs:\n%s\nwant one warning about shop's target pager", out)
	}
}
