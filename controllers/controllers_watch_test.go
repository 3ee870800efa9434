package controllers

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/labels"
)

// fakeContainers is a Docker the test changes behind the watch's back:
// containers come and go without events unless the test sends one, and
// the daemon can stop answering.
type fakeContainers struct {
	subbed chan fakeStream

	mu      sync.Mutex
	running []deployer.Container
	down    bool // List and Ping fail, as while the daemon restarts
}

func (f *fakeContainers) Events(context.Context, time.Time, map[string]string, ...string) (<-chan dockerhost.Event, <-chan error) {
	s := fakeStream{events: make(chan dockerhost.Event, 8), errs: make(chan error, 1)}
	f.subbed <- s
	return s.events, s.errs
}

// fakeStream is one subscription, which the test feeds or cuts.
type fakeStream struct {
	events chan dockerhost.Event
	errs   chan error
}

func (f *fakeContainers) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("connection refused")
	}
	return nil
}

func (f *fakeContainers) List(context.Context, map[string]string) ([]deployer.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("connection refused")
	}
	return slices.Clone(f.running), nil
}

func (f *fakeContainers) set(down bool, running ...deployer.Container) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down, f.running = down, running
}

func controllerOf(workload string) deployer.Container {
	return deployer.Container{ID: "ctl-" + workload, Name: "ctl-" + workload, Running: true, Labels: map[string]string{
		labels.Enable: "true",
		"tinyforge.workloads." + workload + ".image": "reg/" + workload,
		"tinyforge.workloads." + workload + ".port":  "80",
	}}
}

// runControllers starts c.Run and stops it at cleanup; OnChange reports
// each changed workload's name on the returned channel.
func runControllers(t *testing.T, c *Watcher) <-chan string {
	t.Helper()
	changed := make(chan string, 64)
	c.OnChange = func(_ context.Context, ws []*labels.Workload) {
		for _, w := range ws {
			changed <- w.Name
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return changed
}

func waitFor[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// TestControllersPickUpWhatChangedWhileTheStreamWasDown: a controller
// started while the events stream was cut, or while it had silently died
// (only a ping tells), is declared once the watch reconnects and re-lists.
func TestControllersPickUpWhatChangedWhileTheStreamWasDown(t *testing.T) {
	f := &fakeContainers{subbed: make(chan fakeStream, 64)}
	c := NewWatcher(f, "", zerolog.Nop())
	c.timing = dockerhost.WatchTiming{
		Quiet: 20 * time.Millisecond, RelistEvery: time.Hour, Debounce: time.Millisecond,
		Backoff: func(int) time.Duration { return 5 * time.Millisecond },
	}
	changed := runControllers(t, c)

	s := waitFor(t, "subscription", f.subbed)
	f.set(false, controllerOf("web"))
	s.events <- dockerhost.Event{Action: "start", Name: "ctl-web"}
	if name := waitFor(t, "web declared", changed); name != "web" || c.Workload("web") == nil {
		t.Fatalf("changed %q, Workload(web) = %v", name, c.Workload("web"))
	}

	// The stream is cut; the daemon restarts, and "api" starts meanwhile.
	f.set(true, controllerOf("web"))
	s.errs <- errors.New("unexpected EOF")
	waitFor(t, "re-subscription", f.subbed)
	f.set(false, controllerOf("web"), controllerOf("api"))
	if name := waitFor(t, "api declared after the reconnect", changed); name != "api" {
		t.Fatalf("changed %q, want api", name)
	}

	// Now the stream dies without a word (the daemon restarted behind a
	// connection that stayed open): the quiet ping notices.
	for len(f.subbed) > 0 {
		<-f.subbed
	}
	f.set(true)
	waitFor(t, "re-subscription after a failed ping", f.subbed)
	f.set(false, controllerOf("api"), controllerOf("db"))
	if name := waitFor(t, "db declared after the silent stall", changed); name != "db" {
		t.Fatalf("changed %q, want db", name)
	}
	if c.Workload("web") != nil {
		t.Fatal("web is still declared after its controller went")
	}
}

// TestControllersPeriodicRelistRecoversADroppedEvent: the daemon drops
// events for slow readers; the periodic re-list sees the change anyway.
func TestControllersPeriodicRelistRecoversADroppedEvent(t *testing.T) {
	f := &fakeContainers{subbed: make(chan fakeStream, 64)}
	c := NewWatcher(f, "", zerolog.Nop())
	c.timing = dockerhost.WatchTiming{Quiet: time.Hour, RelistEvery: 20 * time.Millisecond, Debounce: time.Millisecond}
	changed := runControllers(t, c)

	waitFor(t, "subscription", f.subbed)
	f.set(false, controllerOf("web")) // no event
	if name := waitFor(t, "web declared without an event", changed); name != "web" {
		t.Fatalf("changed %q, want web", name)
	}
	if len(f.subbed) != 0 {
		t.Fatal("re-subscribed: the change should come from the periodic re-list")
	}
}
