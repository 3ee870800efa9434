package ui

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/controllers"
	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/overview"
)

const testToken = "s3cret-api-token"

// fakeSource records the actions it is asked for.
type fakeSource struct {
	mu    sync.Mutex
	calls []string
	st    overview.Status
}

func (f *fakeSource) Status(context.Context) (overview.Status, error) { return f.st, nil }
func (f *fakeSource) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}
func (f *fakeSource) Deploy(_ context.Context, w, tag string) (string, error) {
	f.record("deploy " + w + " " + tag)
	return "deploy of " + w + ":" + tag + " accepted", nil
}
func (f *fakeSource) Rollback(_ context.Context, w, to string) (string, error) {
	f.record("rollback " + w + " " + to)
	if to == "sha256:bad" {
		return "", errors.New("rollback target: no successful deploy of digest sha256:bad")
	}
	return "rollback of " + w + " queued", nil
}
func (f *fakeSource) Teardown(_ context.Context, w string) (string, error) {
	f.record("teardown " + w)
	return "teardown of " + w + " queued", nil
}
func (f *fakeSource) Approve(_ context.Context, w string) (string, error) {
	f.record("approve " + w)
	return w + ":v3 approved", nil
}
func (f *fakeSource) Reject(_ context.Context, w string) (string, error) {
	f.record("reject " + w)
	return "", errors.New("workload " + w + ": no delivery is pending approval")
}
func (f *fakeSource) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func sampleStatus(now time.Time) overview.Status {
	return overview.Status{
		Workloads: map[string]*overview.Workload{"web": {
			Config: &labels.Workload{Name: "web", Image: "reg.test/web"},
			Instances: []deployer.Instance{
				{ID: "c2", Name: "web-v2-abc", Tag: "v2", Digest: "sha256:2222222222222222222222", State: "running", Created: now.Add(-5 * time.Minute)},
			},
			Routes: []deployer.Route{{Host: "web.example.test", Face: "www", Container: "c2", TLS: true}},
			History: []deployer.Event{
				{Deploy: "d2", Outcome: "deployed", Image: "reg.test/web:v2", Tag: "v2", Digest: "sha256:2222222222222222222222", Took: 1500 * time.Millisecond,
					Steps:   []deployer.StepTime{{Step: "locked"}, {Step: "pulled", Took: 300 * time.Millisecond}},
					Release: &deployer.ReleaseRun{Exit: 0, Took: 2 * time.Second, Output: "migrated <3> tables\n"},
					Tasks:   []deployer.TaskAt{{Slot: 1, Node: "n1", NodeName: "node-a", State: "running"}, {Slot: 2, Node: "n2", NodeName: "node-b", State: "running"}}},
				{Deploy: "d1", Outcome: "deployed", Image: "reg.test/web:v1", Tag: "v1", Digest: "sha256:1111111111111111111111"},
			},
		}},
		Problems: map[string][]string{"ctl-1": {"tinyforge.workloads.api.port: not a number"}},
		Orphans:  map[string]controllers.OrphanStatus{"old": {Since: now.Add(-time.Hour), Containers: 2}},
	}
}

type harness struct {
	t   *testing.T
	src *fakeSource
	srv *httptest.Server
	c   *http.Client
}

func newHarness(t *testing.T) *harness {
	now := time.Now()
	src := &fakeSource{st: sampleStatus(now)}
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "stream") })
	u := New(Config{Token: testToken, Source: src, Stream: stream, Log: zerolog.Nop()})
	srv := httptest.NewServer(u.Handler())
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &harness{t: t, src: src, srv: srv, c: c}
}

func (h *harness) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestLoginSessionAndPage: without a session the page sends to the login
// form; a wrong token is a 401; the right one sets a session cookie
// (HttpOnly, SameSite=Strict, Secure behind HTTPS, without the token) and
// the page shows the workload, problems and orphans.
func TestLoginSessionAndPage(t *testing.T) {
	h := newHarness(t)
	if resp, _ := h.do("GET", "/ui/", nil, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
		t.Fatalf("no session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := h.do("GET", "/ui/stream", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stream without session: %d", resp.StatusCode)
	}
	if resp, body := h.do("POST", "/ui/login", url.Values{"token": {"wrong"}}, nil); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not the API token") {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	resp, _ := h.do("POST", "/ui/login", url.Values{"token": {testToken}}, map[string]string{"X-Forwarded-Proto": "https"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || !sess.Secure || strings.Contains(sess.Value, testToken) {
		t.Fatalf("session cookie %+v", sess)
	}
	// Over plain HTTP the cookie cannot be Secure, or the browser drops it.
	resp, _ = h.do("POST", "/ui/login", url.Values{"token": {testToken}}, nil)
	if c := resp.Cookies(); len(c) != 1 || c[0].Secure {
		t.Fatalf("plain HTTP login cookie %+v", c)
	}
	resp, body := h.do("GET", "/ui/", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`id="w-web"`, `data-serving-digest="sha256:2222222222222222222222"`, `href="https://web.example.test"`,
		"web-v2-abc", "5m", "pulled <em>300ms</em>", "release command: exit 0 after 2s", `<div class="tasks muted">2 tasks running on node-a, node-b</div>`, "<pre>migrated &lt;3&gt; tables\n</pre>", `<option value="sha256:1111111111111111111111">v1`,
		"tinyforge.workloads.api.port: not a number", `href="/ui/teardown?workload=old"`, "/ui/static/live.js",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if resp, body := h.do("GET", "/ui/stream", nil, nil); resp.StatusCode != 200 || body != "stream" {
		t.Errorf("stream with session: %d %q", resp.StatusCode, body)
	}
	if resp, body := h.do("GET", "/ui/static/live.js", nil, nil); resp.StatusCode != 200 || !strings.Contains(body, "EventSource") {
		t.Errorf("live.js: %d", resp.StatusCode)
	}
}

// TestActionsNeedCSRF: every action is refused without the session's CSRF
// token (or from another origin) and reaches the source with it; the
// result shows once on the page; a teardown needs its confirmation.
func TestActionsNeedCSRF(t *testing.T) {
	h := newHarness(t)
	h.do("POST", "/ui/login", url.Values{"token": {testToken}}, nil)
	_, body := h.do("GET", "/ui/", nil, nil)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	csrf := m[1]

	for _, bad := range []url.Values{
		{"workload": {"web"}, "tag": {"v3"}},
		{"workload": {"web"}, "tag": {"v3"}, "csrf": {"forged"}},
	} {
		if resp, _ := h.do("POST", "/ui/deploy", bad, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("deploy with csrf %q: %d, want 403", bad.Get("csrf"), resp.StatusCode)
		}
	}
	good := url.Values{"workload": {"web"}, "tag": {"v3"}, "csrf": {csrf}}
	if resp, _ := h.do("POST", "/ui/deploy", good, map[string]string{"Origin": "https://evil.test"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin deploy: %d, want 403", resp.StatusCode)
	}
	if len(h.src.Calls()) != 0 {
		t.Fatalf("refused actions reached the source: %v", h.src.Calls())
	}
	if resp, _ := h.do("POST", "/ui/deploy", good, map[string]string{"Origin": h.srv.URL}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deploy: %d", resp.StatusCode)
	}
	if _, body := h.do("GET", "/ui/", nil, nil); !strings.Contains(body, "deploy of web:v3 accepted") {
		t.Error("deploy result not shown")
	}
	if _, body := h.do("GET", "/ui/", nil, nil); strings.Contains(body, "deploy of web:v3 accepted") {
		t.Error("deploy result shown twice")
	}
	h.do("POST", "/ui/rollback", url.Values{"workload": {"web"}, "to": {"sha256:bad"}, "csrf": {csrf}}, nil)
	if _, body := h.do("GET", "/ui/", nil, nil); !strings.Contains(body, "rollback of web refused: rollback target: no successful deploy") {
		t.Error("refused rollback not shown")
	}
	if resp, body := h.do("GET", "/ui/teardown?workload=old", nil, nil); resp.StatusCode != 200 || !strings.Contains(body, "Tear down old?") {
		t.Errorf("confirmation page: %d", resp.StatusCode)
	}
	if resp, _ := h.do("GET", "/ui/teardown?workload=web", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("confirmation page of a declared workload: %d, want 404", resp.StatusCode)
	}
	h.do("POST", "/ui/teardown", url.Values{"workload": {"old"}, "csrf": {csrf}}, nil) // not confirmed
	h.do("POST", "/ui/teardown", url.Values{"workload": {"old"}, "confirm": {"old"}, "csrf": {csrf}}, nil)
	want := []string{"deploy web v3", "rollback web sha256:bad", "teardown old"}
	if got := h.src.Calls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("source calls %q, want %q", got, want)
	}
	// After logging out the cookie is gone and actions are refused.
	h.do("POST", "/ui/logout", url.Values{"csrf": {csrf}}, nil)
	if resp, _ := h.do("POST", "/ui/deploy", good, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("deploy after logout: %d, want 401", resp.StatusCode)
	}
}

// TestDisabledWithoutToken: without an API token the page is off.
func TestDisabledWithoutToken(t *testing.T) {
	srv := httptest.NewServer(New(Config{Source: &fakeSource{}, Log: zerolog.Nop()}).Handler())
	defer srv.Close()
	for _, p := range []string{"/ui/", "/ui/login"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s without token: %d, want 403", p, resp.StatusCode)
		}
	}
	resp, _ := http.PostForm(srv.URL+"/ui/login", url.Values{"token": {""}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login with empty token while disabled: %d", resp.StatusCode)
	}
}

// TestPendingApproval: a workload with a delivery pending approval shows
// it (tag, digest, expiry) with approve and reject buttons carrying the
// CSRF token; both act through the source, and a refusal is shown; a
// workload with nothing pending shows no buttons.
func TestPendingApproval(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	h.src.st.Workloads["web"].Pending = &overview.Approval{Image: "reg.test/web", Tag: "v3", Digest: "sha256:3333333333333333333333",
		Source: "distribution", Since: now, Expires: now.Add(time.Hour)}
	h.do("POST", "/ui/login", url.Values{"token": {testToken}}, nil)
	_, body := h.do("GET", "/ui/", nil, nil)
	for _, want := range []string{`class="pending-tag">v3</strong>`, "sha256:333333333333", `action="/ui/approve"`, `action="/ui/reject"`, "expires "} {
		if !strings.Contains(body, want) {
			t.Fatalf("page lacks %q", want)
		}
	}
	csrf := csrfField.FindStringSubmatch(body)[1]
	if resp, _ := h.do("POST", "/ui/approve", url.Values{"workload": {"web"}, "csrf": {"forged"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("approve with a forged csrf: %d", resp.StatusCode)
	}
	h.do("POST", "/ui/approve", url.Values{"workload": {"web"}, "csrf": {csrf}}, nil)
	if _, body := h.do("GET", "/ui/", nil, nil); !strings.Contains(body, "web:v3 approved") {
		t.Error("approval not shown")
	}
	h.do("POST", "/ui/reject", url.Values{"workload": {"web"}, "csrf": {csrf}}, nil)
	if _, body := h.do("GET", "/ui/", nil, nil); !strings.Contains(body, "reject of web refused: workload web: no delivery is pending approval") {
		t.Error("refused reject not shown")
	}
	if got := h.src.Calls(); strings.Join(got, "|") != "approve web|reject web" {
		t.Fatalf("calls %q", got)
	}
	h.src.st.Workloads["web"].Pending = nil
	if _, body := h.do("GET", "/ui/", nil, nil); strings.Contains(body, `action="/ui/approve"`) {
		t.Error("approve button without a pending delivery")
	}
}
