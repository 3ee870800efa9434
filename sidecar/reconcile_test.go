package sidecar

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/dockerhost"
)

// fakeEvents hands out one subscription per Events call, which the test
// drives through the channels it keeps.
type fakeEvents struct {
	mu       sync.Mutex
	subs     []fakeSub
	pingErr  error
	pings    atomic.Int32
	subbed   chan struct{}
	sinceGap time.Duration // how far before the call since was
}

type fakeSub struct {
	events chan dockerhost.Event
	errs   chan error
}

func (f *fakeEvents) Events(_ context.Context, since time.Time, _ map[string]string, _ ...string) (<-chan dockerhost.Event, <-chan error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := fakeSub{events: make(chan dockerhost.Event, 8), errs: make(chan error, 1)}
	f.subs = append(f.subs, s)
	f.sinceGap = time.Since(since)
	select {
	case f.subbed <- struct{}{}:
	default: // a retry storm: the test only needs to know one happened
	}
	return s.events, s.errs
}

func (f *fakeEvents) Ping(context.Context) error {
	f.pings.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pingErr
}

func (f *fakeEvents) sub(i int) fakeSub {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs[i]
}

func (f *fakeEvents) setPingErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pingErr = err
}

func TestManagedWatchKicksAfterEveryReconnect(t *testing.T) {
	f := &fakeEvents{subbed: make(chan struct{}, 16)}
	kicks := make(chan struct{}, 64)
	w := managedWatch(f, func() { kicks <- struct{}{} }, zerolog.Nop())
	if w.Timing.RelistEvery >= 0 {
		t.Errorf("managed watch re-lists every %s: reconcileLoop's --reconcile-interval does that", w.Timing.RelistEvery)
	}
	w.Timing = dockerhost.WatchTiming{
		Quiet:    30 * time.Millisecond,
		Debounce: time.Millisecond,
		Backoff:  func(int) time.Duration { return time.Millisecond },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	next := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	next("first subscription", f.subbed)
	next("re-list after subscribing", kicks)
	if f.sinceGap < 500*time.Millisecond {
		t.Errorf("subscribed with since %s before now, want a margin before the list", f.sinceGap)
	}

	f.sub(0).events <- dockerhost.Event{Action: "die"}
	next("pass after an event", kicks)

	// The stream breaks (daemon restart, proxy cut): re-subscribe, re-list.
	f.sub(0).errs <- errors.New("unexpected EOF")
	next("second subscription", f.subbed)
	next("re-list after reconnect", kicks)

	// A quiet stream is checked with a ping; a daemon that stopped
	// answering ends the subscription, and the watch keeps retrying.
	before := f.pings.Load()
	f.setPingErr(errors.New("connection refused"))
	next("re-subscription after a failed ping", f.subbed)
	if f.pings.Load() <= before {
		t.Fatal("no ping while the stream was quiet")
	}
	select {
	case <-kicks:
		t.Fatal("re-listed while the daemon does not answer")
	default:
	}
	f.setPingErr(nil)
	next("re-list once the daemon answered again", kicks)
}

func TestTestPauseHook(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == TestPauseEnv {
				return v
			}
			return ""
		}
	}
	if testPauseHook(env(""), zerolog.Nop()) != nil {
		t.Fatal("hook installed without the variable")
	}
	if testPauseHook(env("healthy:soon"), zerolog.Nop()) != nil {
		t.Fatal("hook installed with a bad duration")
	}
	hook := testPauseHook(env("surplus:20ms"), zerolog.Nop())
	start := time.Now()
	hook(context.Background(), "healthy")
	if time.Since(start) > 10*time.Millisecond {
		t.Fatal("paused at another step")
	}
	hook(context.Background(), "watched")
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("did not pause before surplus removal")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	testPauseHook(env("switched"), zerolog.Nop())(ctx, "switched") // returns once ctx ends
}
