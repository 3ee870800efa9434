package dockerhost_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestWatchContainerAndHealth checks what the post-switch watch and the
// reconciler read from a real engine: health from both list and inspect,
// a die event on the watched container, and Ping.
func TestWatchContainerAndHealth(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	if err := h.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	img := "tinyforge-test-" + testsvc.RunID + "/app:watch"
	testsvc.BuildImageSpec(t, cli, img, testsvc.ImageSpec{Env: map[string]string{"APP_VERSION": "w"}, Healthcheck: true})
	lbls := map[string]string{testsvc.RunLabel: testsvc.RunID, "tinyforge.test-case": name(t, "c")}
	id, err := h.Create(ctx, deployer.ContainerSpec{Name: name(t, "c"), Image: img, Port: 8080, Network: "bridge", Labels: lbls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}) })
	actions, _ := h.WatchContainer(ctx, id)
	if err := h.Start(ctx, id); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		cs, err := h.List(ctx, map[string]string{"tinyforge.test-case": lbls["tinyforge.test-case"]})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 1 && cs[0].Health == "healthy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list never reported healthy: %+v", cs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, err := h.Inspect(ctx, id)
	if err != nil || c.Health != "healthy" || c.Restarts != 0 {
		t.Fatalf("inspect = %+v, %v; want healthy, no restarts", c, err)
	}

	if err := cli.ContainerKill(ctx, id, "KILL"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	timeout := time.After(15 * time.Second)
	for !seen["die"] {
		select {
		case a := <-actions:
			seen[a] = true
		case <-timeout:
			t.Fatalf("no die event within 15s; saw %v", seen)
		}
	}
	if seen["start"] || seen["create"] {
		t.Errorf("watch let through actions it does not ask for: %v", seen)
	}
}

// fakeDocker is an event source the test drives: each Events call opens a
// stream the test reads back from subbed and feeds or cuts by hand.
type fakeDocker struct {
	subbed chan *fakeStream

	mu       sync.Mutex
	pingErr  error
	pingHang bool // ping waits until its context ends, like a stuck daemon
	pings    int
}

type fakeStream struct {
	since  time.Time
	events chan dockerhost.Event // unbuffered: a send waits for the reader
	errs   chan error
}

func newFakeDocker() *fakeDocker { return &fakeDocker{subbed: make(chan *fakeStream, 64)} }

func (f *fakeDocker) Events(_ context.Context, since time.Time, _ map[string]string, _ ...string) (<-chan dockerhost.Event, <-chan error) {
	s := &fakeStream{since: since, events: make(chan dockerhost.Event), errs: make(chan error, 1)}
	f.subbed <- s
	return s.events, s.errs
}

func (f *fakeDocker) Ping(ctx context.Context) error {
	f.mu.Lock()
	f.pings++
	err, hang := f.pingErr, f.pingHang
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (f *fakeDocker) setPing(err error, hang bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pingErr, f.pingHang = err, hang
}

func (f *fakeDocker) pingCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pings
}

// runWatch starts w and, at cleanup, checks that it stops with its context.
func runWatch(t *testing.T, w *dockerhost.Watch) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

// recv waits for one value of ch, failing the test after 5 s.
func recv[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// none checks that ch yields nothing for d.
func none[T any](t *testing.T, what string, ch <-chan T, d time.Duration) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	case <-time.After(d):
	}
}

// fastTiming keeps every timer of the watch short; RelistEvery is long
// unless a test is about it.
func fastTiming() dockerhost.WatchTiming {
	return dockerhost.WatchTiming{
		Quiet: time.Hour, PingTimeout: 50 * time.Millisecond, RelistEvery: time.Hour,
		Debounce: time.Millisecond, StableAfter: time.Hour,
		Backoff: func(int) time.Duration { return time.Millisecond },
	}
}

func relistInto(ch chan<- struct{}) func(context.Context) error {
	return func(context.Context) error { ch <- struct{}{}; return nil }
}

func TestWatchReconnectsAndRelistsAfterACut(t *testing.T) {
	f := newFakeDocker()
	relists := make(chan struct{}, 64)
	var relistErr atomic.Value
	relistErr.Store("")
	var reconnects atomic.Int32
	runWatch(t, &dockerhost.Watch{Source: f, Timing: fastTiming(), OnReconnect: func() { reconnects.Add(1) }, Relist: func(ctx context.Context) error {
		msg := relistErr.Load().(string)
		relists <- struct{}{}
		if msg != "" {
			return errors.New(msg)
		}
		return nil
	}})

	s := recv(t, "first subscription", f.subbed)
	recv(t, "re-list after subscribing", relists)
	s.errs <- errors.New("unexpected EOF") // the daemon restarted
	s = recv(t, "subscription after the cut", f.subbed)
	recv(t, "re-list after reconnecting", relists)
	if n := reconnects.Load(); n != 1 {
		t.Fatalf("OnReconnect called %d times after one cut, want 1", n)
	}

	// A failed re-list counts as a broken stream too.
	relistErr.Store("list containers: connection reset")
	s.events <- dockerhost.Event{Action: "start"}
	recv(t, "re-list after an event", relists)
	relistErr.Store("")
	recv(t, "subscription after a failed re-list", f.subbed)
	recv(t, "re-list after that reconnect", relists)
	if n := reconnects.Load(); n != 2 {
		t.Fatalf("OnReconnect called %d times after two breaks, want 2", n)
	}
}

func TestWatchPingsAQuietStream(t *testing.T) {
	f := newFakeDocker()
	relists := make(chan struct{}, 64)
	timing := fastTiming()
	timing.Quiet = 20 * time.Millisecond
	runWatch(t, &dockerhost.Watch{Source: f, Timing: timing, Relist: relistInto(relists)})

	recv(t, "first subscription", f.subbed)
	recv(t, "re-list after subscribing", relists)
	// The stream stalls without an error: only the ping can tell.
	before := f.pingCount()
	none(t, "re-subscription while the daemon answers pings", f.subbed, 100*time.Millisecond)
	if f.pingCount()-before < 2 {
		t.Fatalf("%d pings in 100ms of a quiet stream, want several", f.pingCount()-before)
	}

	f.setPing(errors.New("connection refused"), false)
	recv(t, "re-subscription after a failed ping", f.subbed)
	none(t, "re-list while the daemon does not answer", relists, 50*time.Millisecond)

	f.setPing(nil, true) // a daemon that hangs instead of refusing
	for range 2 {
		recv(t, "re-subscription after a ping timed out", f.subbed)
	}
	f.setPing(nil, false)
	recv(t, "re-list once the daemon answers again", relists)
}

func TestWatchPeriodicRelistRecoversDroppedEvents(t *testing.T) {
	f := newFakeDocker()
	var state atomic.Int32 // what Docker holds
	seen := make(chan int32, 64)
	timing := fastTiming()
	timing.RelistEvery = 20 * time.Millisecond
	runWatch(t, &dockerhost.Watch{Source: f, Timing: timing, Relist: func(context.Context) error {
		seen <- state.Load()
		return nil
	}})
	recv(t, "first subscription", f.subbed)
	if v := recv(t, "first re-list", seen); v != 0 {
		t.Fatalf("first re-list saw %d", v)
	}
	state.Store(1) // a change whose event the daemon dropped
	deadline := time.After(5 * time.Second)
	for v := int32(0); v != 1; {
		select {
		case v = <-seen:
		case <-deadline:
			t.Fatal("the periodic re-list never saw the change")
		}
	}
	none(t, "re-subscription", f.subbed, 0)
}

func TestWatchBackoffResetsAfterAStableConnection(t *testing.T) {
	f := newFakeDocker()
	attempts := make(chan int, 64)
	timing := fastTiming()
	timing.StableAfter = 50 * time.Millisecond
	timing.Backoff = func(n int) time.Duration { attempts <- n; return time.Millisecond }
	f.setPing(errors.New("connection refused"), false)
	runWatch(t, &dockerhost.Watch{Source: f, Timing: timing})

	for want := range 3 { // quick failures back off further each time
		recv(t, "subscription", f.subbed)
		if n := recv(t, "backoff", attempts); n != want {
			t.Fatalf("attempt %d after %d quick failures", n, want)
		}
	}
	f.setPing(nil, false)
	s := recv(t, "subscription that holds", f.subbed)
	none(t, "backoff while connected", attempts, 80*time.Millisecond)
	s.errs <- errors.New("unexpected EOF")
	if n := recv(t, "backoff after a stable connection", attempts); n != 0 {
		t.Fatalf("attempt %d after a connection stable for longer than StableAfter, want 0", n)
	}
	s = recv(t, "subscription", f.subbed)
	s.errs <- errors.New("unexpected EOF")
	if n := recv(t, "backoff after a quick failure", attempts); n != 1 {
		t.Fatalf("attempt %d after one quick failure, want 1", n)
	}
}

func TestWatchResubscribesFromTheLastEventSeen(t *testing.T) {
	f := newFakeDocker()
	relists := make(chan struct{}, 64)
	start := time.Now()
	runWatch(t, &dockerhost.Watch{Source: f, Timing: fastTiming(), Relist: relistInto(relists)})

	s := recv(t, "first subscription", f.subbed)
	if !s.since.Before(start) {
		t.Fatalf("first since %s is not before the list that follows (%s)", s.since, start)
	}
	recv(t, "re-list", relists)
	s.errs <- errors.New("unexpected EOF")
	s = recv(t, "quiet subscription cut", f.subbed)
	if !s.since.Before(start) {
		t.Fatalf("since after a quiet cut = %s, want the first since, before %s", s.since, start)
	}
	at := time.Now().Add(time.Minute)
	s.events <- dockerhost.Event{Action: "die", Time: at}
	s.events <- dockerhost.Event{Action: "die", Time: at.Add(-time.Second)} // out of order
	s.errs <- errors.New("unexpected EOF")
	if s = recv(t, "subscription after events", f.subbed); !s.since.Equal(at) {
		t.Fatalf("since = %s, want the last event's time %s", s.since, at)
	}
}

func TestWatchNeverBlocksTheReader(t *testing.T) {
	f := newFakeDocker()
	relists := make(chan struct{}, 64)
	release := make(chan struct{})
	var ignored atomic.Int32
	runWatch(t, &dockerhost.Watch{
		Source: f, Timing: fastTiming(),
		OnEvent: func(ev dockerhost.Event) bool {
			if ev.Action == "exec_start" {
				ignored.Add(1)
				return false
			}
			return true
		},
		Relist: func(ctx context.Context) error {
			relists <- struct{}{}
			select { // a slow list
			case <-release:
			case <-ctx.Done():
			}
			return nil
		},
	})
	s := recv(t, "subscription", f.subbed)
	recv(t, "re-list under way", relists)
	for i := range 500 { // the stream is unbuffered: each send waits for the reader
		select {
		case s.events <- dockerhost.Event{Action: "start"}:
		case <-time.After(time.Second):
			t.Fatalf("event %d waited a second for the reader while a re-list ran", i)
		}
	}
	close(release)
	recv(t, "one re-list for the burst", relists)
	none(t, "more re-lists for one burst", relists, 50*time.Millisecond)
	s.events <- dockerhost.Event{Action: "exec_start"}
	none(t, "re-list for an event OnEvent declined", relists, 50*time.Millisecond)
	if ignored.Load() != 1 {
		t.Fatalf("OnEvent saw %d declined events, want 1", ignored.Load())
	}
}

func TestWatchLetsARelistFinishAcrossACut(t *testing.T) {
	f := newFakeDocker()
	relists := make(chan struct{}, 64)
	release := make(chan struct{})
	cut := make(chan error, 1)
	first := true
	runWatch(t, &dockerhost.Watch{Source: f, Timing: fastTiming(), Relist: func(ctx context.Context) error {
		relists <- struct{}{}
		if first { // the consumer is half-way through when the stream breaks
			first = false
			<-release
			cut <- ctx.Err()
		}
		return nil
	}})
	s := recv(t, "subscription", f.subbed)
	recv(t, "re-list under way", relists)
	s.errs <- errors.New("unexpected EOF")
	none(t, "re-subscription before the re-list under way ended", f.subbed, 50*time.Millisecond)
	close(release)
	if err := recv(t, "end of the first re-list", cut); err != nil {
		t.Fatalf("the re-list under way was cancelled by the cut: %v", err)
	}
	recv(t, "re-subscription", f.subbed)
	recv(t, "re-list after reconnecting", relists)
}

func TestWatchWithoutPeriodicRelist(t *testing.T) {
	f := newFakeDocker()
	relists := make(chan struct{}, 64)
	timing := fastTiming()
	timing.RelistEvery = -1
	runWatch(t, &dockerhost.Watch{Source: f, Timing: timing, Relist: relistInto(relists)})
	recv(t, "subscription", f.subbed)
	recv(t, "re-list after subscribing", relists)
	none(t, "periodic re-list when turned off", relists, 50*time.Millisecond)
}
