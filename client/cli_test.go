package client

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

// TestRollbackAndDeploys runs both API commands against a fake sidecar
// found through TINYFORGE_URL, with the token from TINYFORGE_API_TOKEN.
func TestRollbackAndDeploys(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/workloads/web/rollback":
			_, _ = w.Write([]byte(`{"workload":"web","image":"reg/web:v1","digest":"sha256:abc"}`))
		case r.Method == http.MethodGet && r.URL.Path == "/v1/workloads/web/deploys":
			_, _ = w.Write([]byte(`{"deploys":[{"time":"2026-01-02T03:04:05Z","deploy":"d-1","image":"reg/web:v2","digest":"sha256:0123456789abcdef0123","outcome":"succeeded"}]}`))
		default:
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":"no earlier deploy to roll back to"}`))
		}
	}))
	defer srv.Close()
	t.Setenv("TINYFORGE_URL", srv.URL)
	t.Setenv("TINYFORGE_API_TOKEN", "tok")

	var out, errOut bytes.Buffer
	if code := RollbackMain([]string{"web"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "rollback of web queued: reg/web:v1 (sha256:abc)") {
		t.Errorf("rollback: exit %d, %q %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := DeploysMain([]string{"--limit", "5", "web"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "d-1") || !strings.Contains(out.String(), "sha256:0123456789ab ") {
		t.Errorf("deploys: exit %d, %q %q", code, out.String(), errOut.String())
	}
	want := []string{"POST /v1/workloads/web/rollback Bearer tok", "GET /v1/workloads/web/deploys?limit=5 Bearer tok"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("requests %q, want %q", seen, want)
	}
	errOut.Reset()
	if code := RollbackMain([]string{"other"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "409 Conflict: no earlier deploy") {
		t.Errorf("refused rollback: exit %d, %q", code, errOut.String())
	}
	if code := RollbackMain(nil, &out, &errOut); code != 2 {
		t.Errorf("no workload: exit %d, want 2", code)
	}
}

// TestFormatDeploys: a header, then one line per deploy whose columns
// line up across deploys (an unknown digest or source is "-"), each
// followed by its steps with their times.
func TestFormatDeploys(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	evs := []deployer.Event{
		{Time: at, Deploy: "d-1", Took: 10512345678 * time.Nanosecond, Image: "reg/web:v2", Source: "distribution",
			Digest: "sha256:0123456789abcdef0123", Outcome: "deployed", Steps: []deployer.StepTime{
				{Step: "locked", Took: 1200 * time.Microsecond}, {Step: "pulled", Took: 45 * time.Millisecond}, {Step: "watched", Took: 10 * time.Second},
			}},
		{Time: at, Deploy: "d-2", Took: time.Second, Image: "reg/web:bad", Outcome: "failed: pull: not found"},
	}
	want := "" +
		"FINISHED             DEPLOY  TOOK     IMAGE        DIGEST               SOURCE        OUTCOME\n" +
		"2026-01-02 03:04:05  d-1     10.512s  reg/web:v2   sha256:0123456789ab  distribution  deployed\n" +
		"    steps: locked 1ms, pulled 45ms, watched 10s\n" +
		"2026-01-02 03:04:05  d-2     1s       reg/web:bad  -                    -             failed: pull: not found\n"
	if got := formatDeploys(evs); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
