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

// TestFormatDeploy: one line per deploy whose columns before the outcome
// never shift (an unknown digest is "-"), then the steps with their times.
func TestFormatDeploy(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	for _, tc := range []struct {
		name string
		ev   deployer.Event
		want string
	}{
		{"deployed", deployer.Event{Time: at, Deploy: "d-1", Took: 10512345678 * time.Nanosecond, Image: "reg/web:v2",
			Digest: "sha256:0123456789abcdef0123", Outcome: "deployed", Steps: []deployer.StepTime{
				{Step: "locked", Took: 1200 * time.Microsecond}, {Step: "pulled", Took: 45 * time.Millisecond}, {Step: "watched", Took: 10 * time.Second},
			}},
			"2026-01-02 03:04:05  d-1               10.512s   reg/web:v2                      sha256:0123456789ab  deployed\n" +
				"    steps: locked 1ms, pulled 45ms, watched 10s\n"},
		{"no digest, no steps", deployer.Event{Time: at, Deploy: "d-2", Took: time.Second, Image: "reg/web:bad", Outcome: "failed: pull: not found"},
			"2026-01-02 03:04:05  d-2               1s        reg/web:bad                     -                    failed: pull: not found\n"},
	} {
		if got := formatDeploy(tc.ev); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
		if f := strings.Fields(formatDeploy(tc.ev)); f[2] != tc.ev.Deploy || f[4] != tc.ev.Image {
			t.Errorf("%s: fields %q: id and image not in columns 3 and 5", tc.name, f)
		}
	}
}
