package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestUsageNeverShowsTheToken: -h of every API command prints usage
// without the token's value, and exits 0.
func TestUsageNeverShowsTheToken(t *testing.T) {
	t.Setenv("TINYFORGE_API_TOKEN", "very-secret-token-value")
	for name, main := range map[string]func([]string, io.Writer, io.Writer) int{
		"status": StatusMain, "deploy": DeployMain, "rollback": RollbackMain, "deploys": DeploysMain, "logs": LogsMain,
		"approve": ApproveMain, "reject": RejectMain,
	} {
		var out, errOut bytes.Buffer
		code := main([]string{"-h"}, &out, &errOut)
		if code != ExitOK || strings.Contains(out.String()+errOut.String(), "very-secret") {
			t.Errorf("%s -h: exit %d, output %q", name, code, errOut.String())
		}
		if !strings.Contains(errOut.String(), "TINYFORGE_API_TOKEN") || !strings.Contains(errOut.String(), "-json") {
			t.Errorf("%s -h does not name the token's variable or --json: %q", name, errOut.String())
		}
	}
}

// fakeSidecar records requests (method, path, auth, body) and answers
// from a handler table.
type fakeSidecar struct {
	mu   sync.Mutex
	seen []string
	srv  *httptest.Server
}

func newFakeSidecar(t *testing.T, h func(w http.ResponseWriter, r *http.Request, body string)) *fakeSidecar {
	f := &fakeSidecar{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+string(b)))
		f.mu.Unlock()
		h(w, r, string(b))
	}))
	t.Cleanup(f.srv.Close)
	t.Setenv("TINYFORGE_URL", f.srv.URL)
	return f
}

func (f *fakeSidecar) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// TestRollbackToAndTokenFile: --to (after the workload, too) sends a tag
// or a digest target; the token comes from TINYFORGE_API_TOKEN_FILE.
func TestRollbackToAndTokenFile(t *testing.T) {
	f := newFakeSidecar(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		_, _ = w.Write([]byte(`{"workload":"web","image":"reg/web:v1","digest":"sha256:abc"}`))
	})
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TINYFORGE_API_TOKEN", "")
	t.Setenv("TINYFORGE_API_TOKEN_FILE", file)
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{"web", "--to", "v1"}, {"--to", "sha256:abc", "web"}, {"web"}} {
		if code := RollbackMain(args, &out, &errOut); code != ExitOK {
			t.Fatalf("rollback %v: exit %d %s", args, code, errOut.String())
		}
	}
	want := []string{
		`POST /v1/workloads/web/rollback Bearer from-file {"tag":"v1"}`,
		`POST /v1/workloads/web/rollback Bearer from-file {"digest":"sha256:abc"}`,
		`POST /v1/workloads/web/rollback Bearer from-file`,
	}
	if got := f.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Setenv("TINYFORGE_API_TOKEN_FILE", filepath.Join(t.TempDir(), "missing"))
	if code := RollbackMain([]string{"web"}, &out, &errOut); code != ExitUsage {
		t.Errorf("missing token file: exit %d, want %d", code, ExitUsage)
	}
}

const statusJSON = `{"workloads":{"web":{"config":{"name":"web","image":"reg/web"},"busy":false,
 "instances":[{"id":"c2","name":"web-v2-x","tag":"v2","digest":"sha256:2222222222222222222222","state":"running","created":"2026-01-01T00:00:00Z"}],
 "routes":[{"host":"web.test","face":"www","container":"c2","tls":true}],
 "history":[{"time":"2026-01-01T00:00:00Z","deploy":"d2","outcome":"deployed","image":"reg/web:v2"}]}},
 "problems":{"ctl":["tinyforge.workloads.x.port: not a number"]},"orphans":{"old":{"since":"2026-01-01T00:00:00Z","containers":2}}}`

// TestStatus: a table of every workload, a detail of one, JSON with
// --json, and a clear error for an unknown or orphaned workload.
func TestStatus(t *testing.T) {
	newFakeSidecar(t, func(w http.ResponseWriter, r *http.Request, _ string) { _, _ = w.Write([]byte(statusJSON)) })
	var out, errOut bytes.Buffer
	if code := StatusMain(nil, &out, &errOut); code != ExitOK {
		t.Fatalf("status: %d %s", code, errOut.String())
	}
	for _, want := range []string{"WORKLOAD", "web ", "v2", "sha256:222222222222", "https://web.test", "deployed", "label problem: ctl:", "orphaned: old"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := StatusMain([]string{"web"}, &out, &errOut); code != ExitOK || !strings.Contains(out.String(), "serving:   v2 sha256:2222222222222222222222 (web-v2-x)") ||
		!regexp.MustCompile(`web-v2-x +running +v2 +sha256:222222222222 +\S+ +serving`).MatchString(out.String()) {
		t.Errorf("status web: %d\n%s", code, out.String())
	}
	out.Reset()
	if code := StatusMain([]string{"--json", "web"}, &out, &errOut); code != ExitOK {
		t.Fatal(code)
	}
	var w struct{ Instances []struct{ Name string } }
	if err := json.Unmarshal(out.Bytes(), &w); err != nil || len(w.Instances) != 1 {
		t.Errorf("status --json web: %v %s", err, out.String())
	}
	errOut.Reset()
	if code := StatusMain([]string{"old"}, &out, &errOut); code != ExitFailed || !strings.Contains(errOut.String(), "orphaned") {
		t.Errorf("status of an orphan: %d %s", code, errOut.String())
	}
	if code := StatusMain([]string{"a", "b"}, &out, &errOut); code != ExitUsage {
		t.Errorf("two workloads: exit %d", code)
	}
}

// sseSidecar serves /v1/deploys/stream and POST /v1/deploy: the deploy's
// events are sent once the deploy was posted.
func sseSidecar(t *testing.T, events []string, eventsJSON string) *fakeSidecar {
	posted := make(chan struct{})
	var once sync.Once
	return newFakeSidecar(t, func(w http.ResponseWriter, r *http.Request, body string) {
		switch r.URL.Path {
		case "/v1/deploys/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "retry: 3000\n: connected\n\n")
			w.(http.Flusher).Flush()
			<-posted
			for _, e := range events {
				fmt.Fprint(w, e)
				w.(http.Flusher).Flush()
			}
			<-r.Context().Done()
		case "/v1/deploy":
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"accepted":["web:v2"]}`))
			once.Do(func() { close(posted) })
		case "/v1/workloads/web/events":
			_, _ = w.Write([]byte(eventsJSON))
		}
	})
}

func sse(kind, data string) string { return "event: " + kind + "\ndata: " + data + "\n\n" }

// TestDeployWait: --wait shows each step of the deploy of the tag asked
// for (not another workload's, nor an earlier deploy of another tag) and
// exits 0 when it deployed, ExitDeployFailed when it rolled back.
func TestDeployWait(t *testing.T) {
	steps := []string{
		sse("step", `{"type":"step","workload":"web","deploy":"old","tag":"v1","step":"locked"}`),
		sse("step", `{"type":"step","workload":"web","deploy":"d2","tag":"v2","image":"reg/web:v2","step":"locked","steps":[{"step":"locked"}]}`),
		": heartbeat\n\n",
		sse("step", `{"type":"step","workload":"web","deploy":"d2","tag":"v2","image":"reg/web:v2","step":"pulled","took":1500000000}`),
	}
	for _, tc := range []struct {
		outcome string
		code    int
	}{{"deployed", ExitOK}, {"rolled back: post-switch watch failed", ExitDeployFailed}} {
		f := sseSidecar(t, append(steps, sse("finished", `{"type":"finished","workload":"web","deploy":"d2","tag":"v2","image":"reg/web:v2","outcome":"`+tc.outcome+`","took":2000000000}`)), `{"events":[]}`)
		var out, errOut bytes.Buffer
		code := DeployMain([]string{"web", "v2", "--wait"}, &out, &errOut)
		if code != tc.code {
			t.Fatalf("%s: exit %d, want %d: %s %s", tc.outcome, code, tc.code, out.String(), errOut.String())
		}
		want := "web reg/web:v2 [d2] locked (0s)\nweb reg/web:v2 [d2] pulled (1.5s)\nweb reg/web:v2: " + tc.outcome + " in 2s\n"
		if out.String() != want {
			t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
		}
		if reqs := f.requests(); len(reqs) < 2 || !strings.HasPrefix(reqs[0], "GET /v1/deploys/stream?workload=web") || !strings.Contains(reqs[1], `{"tag":"v2","workload":"web"}`) {
			t.Errorf("requests %q: want the stream opened before the deploy is posted", reqs)
		}
	}
}

// TestDeployWaitNoopFromEvents: a deploy of what already serves records
// no deploy; --wait finds its "duplicate" record in the events and exits 0.
func TestDeployWaitNoopFromEvents(t *testing.T) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	sseSidecar(t, nil, `{"events":[{"time":"`+now+`","outcome":"duplicate: reg/web:v2 already serves","image":"reg/web:v2"}]}`)
	var out, errOut bytes.Buffer
	if code := DeployMain([]string{"--wait", "web", "v2"}, &out, &errOut); code != ExitOK || !strings.Contains(out.String(), "duplicate: reg/web:v2 already serves") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
}

// TestLogs prints the lines' text and marks the switch to the next
// deploy's container on stderr.
func TestLogs(t *testing.T) {
	f := newFakeSidecar(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		fmt.Fprintln(w, `{"container":"web-a","stream":"stdout","text":"one"}`)
		fmt.Fprintln(w, `{"container":"web-b","stream":"stderr","text":"two"}`)
	})
	var out, errOut bytes.Buffer
	if code := LogsMain([]string{"web", "-f", "--since", "10m"}, &out, &errOut); code != ExitOK {
		t.Fatalf("exit %d %s", code, errOut.String())
	}
	if out.String() != "one\ntwo\n" || errOut.String() != "==> web-a <==\n==> web-b <==\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
	if reqs := f.requests(); len(reqs) != 1 || !strings.Contains(reqs[0], "/v1/workloads/web/logs?follow=true&since=10m&tail=100") {
		t.Errorf("requests %q", reqs)
	}
}
