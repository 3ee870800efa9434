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
// followed by its steps with their times, on a swarm where its tasks ran,
// and, for a release command, how it ended and the last lines of its output.
func TestFormatDeploys(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	evs := []deployer.Event{
		{Time: at, Deploy: "d-1", Took: 10512345678 * time.Nanosecond, Image: "reg/web:v2", Source: "distribution",
			Digest: "sha256:0123456789abcdef0123", Outcome: "deployed", Steps: []deployer.StepTime{
				{Step: "locked", Took: 1200 * time.Microsecond}, {Step: "pulled", Took: 45 * time.Millisecond}, {Step: "watched", Took: 10 * time.Second},
			}, Tasks: []deployer.TaskAt{{Slot: 1, Node: "n1", NodeName: "node-a", State: "running"}, {Slot: 2, Node: "n2", NodeName: "node-b", State: "running"}}},
		{Time: at, Deploy: "d-2", Took: time.Second, Image: "reg/web:bad", Outcome: "failed: pull: not found"},
		{Time: at, Deploy: "d-3", Took: 3 * time.Second, Image: "reg/web:v3", Outcome: "failed: release command failed: tf-web-release-d-3 exited 3",
			Steps:   []deployer.StepTime{{Step: "locked"}, {Step: "pulled", Took: time.Second}, {Step: "releasing", Took: 100 * time.Millisecond}},
			Release: &deployer.ReleaseRun{Exit: 3, Took: 1500 * time.Millisecond, Output: "1\n2\n3\n4\n5\nerror: relation exists\n"}},
		{Time: at, Deploy: "d-4", Took: 9 * time.Second, Image: "reg/web:v4", Outcome: "failed: release command failed: timeout",
			Steps:   []deployer.StepTime{{Step: "releasing"}},
			Release: &deployer.ReleaseRun{Exit: -1, Took: 5 * time.Second, Error: "still running after release.timeout 5s"}},
	}
	want := "" +
		"FINISHED             DEPLOY  TOOK     IMAGE        DIGEST               SOURCE        OUTCOME\n" +
		"2026-01-02 03:04:05  d-1     10.512s  reg/web:v2   sha256:0123456789ab  distribution  deployed\n" +
		"    steps: locked 1ms, pulled 45ms, watched 10s\n" +
		"    tasks: 2 tasks running on node-a, node-b\n" +
		"2026-01-02 03:04:05  d-2     1s       reg/web:bad  -                    -             failed: pull: not found\n" +
		"2026-01-02 03:04:05  d-3     3s       reg/web:v3   -                    -             failed: release command failed: tf-web-release-d-3 exited 3\n" +
		"    steps: locked 0s, pulled 1s, releasing 100ms\n" +
		"    release: exit 3 after 1.5s (last 5 of 6 output lines; --json for all)\n" +
		"      | 2\n      | 3\n      | 4\n      | 5\n      | error: relation exists\n" +
		"2026-01-02 03:04:05  d-4     9s       reg/web:v4   -                    -             failed: release command failed: timeout\n" +
		"    steps: releasing 0s\n" +
		"    release: no exit after 5s: still running after release.timeout 5s\n"
	if got := formatDeploys(evs); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
