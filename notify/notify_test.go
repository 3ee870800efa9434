package notify

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/testlog"
)

// start builds a Notifier and runs it for the life of the test.
func start(t *testing.T, c Config, o Options) *Notifier {
	t.Helper()
	n, err := New(c, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ran := make(chan error, 1)
	go func() { ran <- n.Run(context.Background()) }()
	t.Cleanup(func() {
		n.Close()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return n
}

// genericURL is shoutrrr's generic webhook at r, posting JSON {title, message}.
func genericURL(r *receiver, path string) string {
	return "generic://" + r.addr() + path + "?disabletls=yes&template=json"
}

// TestOneMessagePerOutcome sends each kind of event to a real HTTP receiver
// through shoutrrr's generic webhook and counts exactly one message each,
// and none for a repeated state event.
func TestOneMessagePerOutcome(t *testing.T) {
	r := newReceiver(t, nil)
	var rep reports
	n := start(t, Config{Targets: []string{"ops=" + genericURL(r, "/hook")}, Window: 20 * time.Millisecond},
		Options{Report: rep.report})
	cases := []struct {
		ev        Event
		wantTitle string
		wantText  []string
	}{
		{Event{Kind: Succeeded, Workload: "shop", Tag: "v1.2", Digest: "sha256:abc123", TimeToServe: 4200 * time.Millisecond},
			"tinyforge: shop: deployed v1.2", []string{"v1.2", "sha256:abc123", "serving 4.2s after the request"}},
		{Event{Kind: Failed, Workload: "shop", Tag: "v1.3", Step: "health", Reason: "health check: 503 after 30s"},
			"tinyforge: shop: deploy of v1.3 failed", []string{"at step health", "health check: 503 after 30s"}},
		{Event{Kind: RolledBack, Workload: "shop", Tag: "v1.4", Reason: "container exited during the watch"},
			"tinyforge: shop: v1.4 rolled back", []string{"container exited during the watch"}},
		{Event{Kind: Orphaned, Workload: "old", Reason: "no controller declares it"},
			"tinyforge: old: orphaned", []string{"no controller declares it"}},
		{Event{Kind: Conflict, Workload: "api", Reason: "declared by ctl-a and ctl-b"},
			"tinyforge: api: conflicting declarations", []string{"ctl-a and ctl-b"}},
		{Event{Kind: Invalid, Workload: "web", Reason: "tinyforge.workloads.web.port: not a number"},
			"tinyforge: web: invalid labels", []string{"not a number"}},
	}
	for i, c := range cases {
		n.Notify(c.ev)
		got := r.waitFor(t, i+1)
		if len(got) != i+1 {
			t.Fatalf("after %s: %d messages, want %d", c.ev.Kind, len(got), i+1)
		}
		title, msg := jsonMessage(t, got[i])
		if title != c.wantTitle {
			t.Errorf("%s: title %q, want %q", c.ev.Kind, title, c.wantTitle)
		}
		for _, w := range c.wantText {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q lacks %q", c.ev.Kind, msg, w)
			}
		}
		if got[i].Path != "/hook" || !strings.HasPrefix(got[i].Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: posted to %s as %s", c.ev.Kind, got[i].Path, got[i].Header.Get("Content-Type"))
		}
	}
	// The same conditions found again by the next reconcile pass are not news.
	for _, c := range cases[3:] {
		n.Notify(c.ev)
	}
	time.Sleep(200 * time.Millisecond)
	if got := len(r.requests()); got != len(cases) {
		t.Errorf("repeated orphaned/conflict/invalid events made %d more messages", got-len(cases))
	}
	if got := rep.count("ops sent"); got != len(cases) {
		t.Errorf("reported %d sent, want %d", got, len(cases))
	}
	// Once resolved, the condition coming back is news again.
	n.Resolved("old")
	n.Notify(cases[3].ev)
	r.waitFor(t, len(cases)+1)
}

// TestBurstIsSummarised: several events for one target within the window
// become one message listing them all.
func TestBurstIsSummarised(t *testing.T) {
	r := newReceiver(t, nil)
	n := start(t, Config{Targets: []string{"ops=" + genericURL(r, "/")}, Window: 300 * time.Millisecond}, Options{})
	for i, w := range []string{"a", "b", "c", "d", "e"} {
		n.Notify(Event{Kind: Succeeded, Workload: w, Tag: "v" + string(rune('1'+i))})
	}
	got := r.waitFor(t, 1)
	time.Sleep(500 * time.Millisecond) // past another window: nothing more comes
	if got = r.requests(); len(got) != 1 {
		t.Fatalf("a burst of 5 made %d messages, want 1", len(got))
	}
	title, msg := jsonMessage(t, got[0])
	if title != "tinyforge: 5 events (a, b, c, d, e)" {
		t.Errorf("summary title %q", title)
	}
	for _, w := range []string{"a: deployed v1", "b: deployed v2", "e: deployed v5"} {
		if !strings.Contains(msg, w) {
			t.Errorf("summary %q lacks %q", msg, w)
		}
	}
	if lines := strings.Count(msg, "\n") + 1; lines != 5 {
		t.Errorf("summary has %d lines, want 5:\n%s", lines, msg)
	}
}

// TestTargetsAndDefaults: a workload's own targets, else the default ones.
func TestTargetsAndDefaults(t *testing.T) {
	ops, dev := newReceiver(t, nil), newReceiver(t, nil)
	var logs testlog.Buffer
	n := start(t, Config{Targets: []string{"ops=" + genericURL(ops, "/"), "dev=" + genericURL(dev, "/")},
		Default: "ops", Window: 10 * time.Millisecond}, Options{Log: zerolog.New(&logs)})
	n.Notify(Event{Kind: Succeeded, Workload: "shop"})                                     // default: ops
	n.Notify(Event{Kind: Succeeded, Workload: "blog", Targets: []string{"dev"}})           // dev only
	n.Notify(Event{Kind: Succeeded, Workload: "api", Targets: []string{"dev", "missing"}}) // dev; missing is logged
	ops.waitFor(t, 1)
	dev.waitFor(t, 1)
	time.Sleep(100 * time.Millisecond)
	if o, d := len(ops.requests()), len(dev.requests()); o != 1 || d < 1 || d > 2 {
		t.Errorf("ops got %d, dev got %d messages; want 1 and 1-2", o, d)
	}
	if !strings.Contains(logs.String(), `"target":"missing"`) {
		t.Errorf("unknown target not logged: %s", logs.String())
	}
	if !n.Has("ops") || n.Has("missing") {
		t.Errorf("Has(ops)=%v Has(missing)=%v", n.Has("ops"), n.Has("missing"))
	}
}

// TestFailingReceiverIsRetried: 500, 500, then 200 makes one message sent
// on the third attempt.
func TestFailingReceiverIsRetried(t *testing.T) {
	r := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return 0
	})
	var rep reports
	n := start(t, Config{Targets: []string{"ops=" + genericURL(r, "/")}, Window: time.Millisecond},
		Options{Attempts: 4, Backoff: 20 * time.Millisecond, Report: rep.report})
	n.Notify(Event{Kind: Failed, Workload: "shop", Step: "pull", Reason: "manifest unknown"})
	rep.waitFor(t, "ops sent", 1)
	if got := len(r.requests()); got != 3 {
		t.Errorf("receiver got %d attempts, want 3", got)
	}
	if rep.count("ops failed") != 0 {
		t.Errorf("a message that got through was also counted failed")
	}
}

// TestFailingReceiverCountsFailedWithoutBlocking: a receiver that always
// fails, or never answers, is given up on after the attempts and counted
// failed, while Notify returns at once.
func TestFailingReceiverCountsFailedWithoutBlocking(t *testing.T) {
	failing := newReceiver(t, func(int) int { return http.StatusBadGateway })
	release := make(chan struct{})
	var hangOnce sync.Once
	hanging := newReceiver(t, func(int) int { <-release; return 0 })
	t.Cleanup(func() { hangOnce.Do(func() { close(release) }) }) // runs before the servers close
	var rep reports
	var logs testlog.Buffer
	n := start(t, Config{Targets: []string{"bad=" + genericURL(failing, "/"), "slow=" + genericURL(hanging, "/")},
		Window: time.Millisecond}, Options{Attempts: 3, Backoff: 10 * time.Millisecond, Timeout: 100 * time.Millisecond,
		Report: rep.report, Log: zerolog.New(&logs)})
	began := time.Now()
	for range 10 {
		n.Notify(Event{Kind: Failed, Workload: "shop", Reason: "boom"})
	}
	if took := time.Since(began); took > 50*time.Millisecond {
		t.Errorf("10 Notify calls took %s with failing receivers", took)
	}
	rep.waitFor(t, "bad failed", 1)
	if got := len(failing.requests()); got < 3 {
		t.Errorf("failing receiver got %d attempts, want at least 3", got)
	}
	rep.waitFor(t, "slow failed", 1)
	if !strings.Contains(logs.String(), "notification failed: giving up") {
		t.Errorf("no failure logged:\n%s", logs.String())
	}
	if rep.count("bad sent")+rep.count("slow sent") != 0 {
		t.Errorf("a failing receiver was counted sent")
	}
}

// TestFullQueueDrops: while a target is busy sending, events beyond its
// queue are dropped (and counted) instead of blocking Notify.
func TestFullQueueDrops(t *testing.T) {
	release := make(chan struct{})
	r := newReceiver(t, func(int) int { <-release; return 0 })
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	var rep reports
	n := start(t, Config{Targets: []string{"ops=" + genericURL(r, "/")}, Window: time.Millisecond},
		Options{QueueSize: 2, Timeout: 300 * time.Millisecond, Attempts: 1, Report: rep.report})
	n.Notify(Event{Kind: Succeeded, Workload: "shop"})
	r.waitFor(t, 1) // the target is now stuck sending the first
	for range 4 {   // two fit in the queue, two do not
		n.Notify(Event{Kind: Succeeded, Workload: "shop"})
	}
	if got := rep.count("ops dropped"); got != 2 {
		t.Errorf("dropped %d events, want 2", got)
	}
}

// TestCloseSendsWhatIsHeld: events waiting out the window when the sidecar
// stops get one last attempt.
func TestCloseSendsWhatIsHeld(t *testing.T) {
	r := newReceiver(t, nil)
	var rep reports
	n, err := New(Config{Targets: []string{"ops=" + genericURL(r, "/")}, Window: time.Hour}, Options{Report: rep.report})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- n.Run(context.Background()) }()
	n.Notify(Event{Kind: Succeeded, Workload: "shop", Tag: "v1"})
	n.Notify(Event{Kind: Failed, Workload: "blog", Tag: "v2"})
	time.Sleep(50 * time.Millisecond)
	n.Close()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := r.requests(); len(got) != 1 || !strings.Contains(got[0].Body, "2 events") {
		t.Fatalf("on Close the receiver got %v, want one summary of 2 events", got)
	}
	if err := n.Run(context.Background()); err == nil {
		t.Errorf("a second Run was allowed")
	}
}

func TestNilNotifierIsOff(t *testing.T) {
	var n *Notifier
	n.Notify(Event{Kind: Succeeded, Workload: "shop"})
	n.Resolved("shop")
	n.Close()
	if n.Has("x") || n.Run(context.Background()) != nil {
		t.Error("nil Notifier did something")
	}
}
