package sidecar

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/deployer"
)

// TestDeployStreamRoute: GET /v1/deploys/stream needs the API token and
// streams what the engine's hooks publish; shutting the hub ends it.
func TestDeployStreamRoute(t *testing.T) {
	s, _ := newHTTPSidecar(t, secAPIToken, secHookToken)
	url := serve(t, s)
	c := clientFrom("127.0.0.1")
	if code, _ := do(t, c, http.MethodGet, url+"/v1/deploys/stream", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("stream without token: %d", code)
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/v1/deploys/stream?workload=web", nil)
	req.Header.Set("Authorization", "Bearer "+secAPIToken)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "retry:") {
		t.Fatalf("stream opened with %q", sc.Text())
	}
	// The handler subscribed before its first write: the step is not missed.
	s.stream.Step(deployer.Journal{ID: "d1", Workload: "web", Steps: []deployer.StepTime{{Step: deployer.StepPulled}}})
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
		if strings.HasPrefix(sc.Text(), "data:") {
			s.stream.Close() // as Run does on shutdown
		}
	}
	all := strings.Join(got, "\n")
	if !strings.Contains(all, "event: step") || !strings.Contains(all, `"step":"pulled"`) {
		t.Fatalf("stream: %s", all)
	}
}

// TestStatusPageIsItsOwnLogin: a bearer token does not open the page (it
// has its own session); without --api-token the page is off; the page's
// stream needs a session.
func TestStatusPageIsItsOwnLogin(t *testing.T) {
	s, _ := newHTTPSidecar(t, secAPIToken, secHookToken)
	open, _ := newHTTPSidecar(t, "", secHookToken)
	url, openURL := serve(t, s), serve(t, open)
	c := clientFrom("127.0.0.1")
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code, _ := do(t, c, http.MethodGet, url+"/ui/", secAPIToken, nil); code != http.StatusSeeOther {
		t.Errorf("/ui/ with only a bearer token: %d, want 303 to the login", code)
	}
	if code, _ := do(t, c, http.MethodGet, url+"/ui/stream", secAPIToken, nil); code != http.StatusUnauthorized {
		t.Errorf("/ui/stream without a session: %d, want 401", code)
	}
	if code, body := do(t, c, http.MethodGet, url+"/ui/login", "", nil); code != http.StatusOK || !strings.Contains(body, `name="token"`) {
		t.Errorf("/ui/login: %d", code)
	}
	if code, _ := do(t, c, http.MethodGet, openURL+"/ui/login", "", nil); code != http.StatusForbidden {
		t.Errorf("/ui/login without --api-token: %d, want 403", code)
	}
}

// TestRollbackTargetBody: the rollback's optional target is checked
// before anything else.
func TestRollbackTargetBody(t *testing.T) {
	s, _ := newHTTPSidecar(t, secAPIToken, secHookToken)
	url := serve(t, s) + "/v1/workloads/web/rollback"
	c := clientFrom("127.0.0.1")
	for body, want := range map[string]string{
		`{"digest":"sha256:abc"}`: "is not a content digest",
		`{"tag":"v1/x"}`:          "is not a valid Docker tag",
		`{"tag":"v1","digest":"sha256:` + strings.Repeat("a", 64) + `"}`: "not both",
		`{"to":"v1"}`: "unknown field",
	} {
		if code, got := do(t, c, http.MethodPost, url, secAPIToken, []byte(body)); code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("body %s: %d %s, want 400 %q", body, code, got, want)
		}
	}
	for _, body := range []string{``, `{}`, `{"tag":"v1"}`} { // well formed: the workload is what is unknown
		if code, got := do(t, c, http.MethodPost, url, secAPIToken, []byte(body)); code != http.StatusNotFound {
			t.Errorf("body %q: %d %s, want 404 unknown workload", body, code, got)
		}
	}
}
