package deploystream

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

// TestSSEStreamsEventsHeartbeatsAndEndsOnClose runs the handler behind a
// real server (with the sidecar's 30 s WriteTimeout shortened to prove
// streams outlive it): the client reads the heartbeat, the step and the
// finished events of its workload only, and the stream ends when the hub
// closes.
func TestSSEStreamsEventsHeartbeatsAndEndsOnClose(t *testing.T) {
	hub := NewHub(0)
	srv := httptest.NewUnstartedServer(Handler{Hub: hub, Heartbeat: 50 * time.Millisecond})
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?workload=web", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine(t, lines, ": connected")
	time.Sleep(500 * time.Millisecond) // past the server's WriteTimeout
	waitLine(t, lines, ": heartbeat")
	hub.Step(deployer.Journal{ID: "d9", Workload: "other", Steps: []deployer.StepTime{{Step: deployer.StepLocked}}})
	hub.Step(deployer.Journal{ID: "d1", Workload: "web", Tag: "v2", Steps: []deployer.StepTime{{Step: deployer.StepPulled, Took: time.Second}}})
	waitLine(t, lines, "event: step")
	data := waitLine(t, lines, "data: ")
	var ev Event
	if err := json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Workload != "web" || ev.Deploy != "d1" || ev.Step != deployer.StepPulled || ev.Took != time.Second {
		t.Fatalf("step event %+v", ev)
	}
	hub.Finished("web", deployer.Event{Deploy: "d1", Outcome: "failed: unhealthy"})
	waitLine(t, lines, "event: finished")
	if data := waitLine(t, lines, "data: "); !strings.Contains(data, `"outcome":"failed: unhealthy"`) || strings.Contains(data, "succeeded") {
		t.Fatalf("finished data %s", data)
	}
	hub.Close()
	for l := range lines { // the stream ends
		if strings.Contains(l, "other") {
			t.Fatalf("event of another workload: %s", l)
		}
	}
}

// TestSSERefusedAfterClose: a stream asked for after shutdown began is a 503.
func TestSSERefusedAfterClose(t *testing.T) {
	hub := NewHub(0)
	hub.Close()
	rec := httptest.NewRecorder()
	Handler{Hub: hub}.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
}

// waitLine returns the first line with prefix, failing after 5 s.
func waitLine(t *testing.T, lines <-chan string, prefix string) string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended before a line %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line %q within 5s", prefix)
		}
	}
}
