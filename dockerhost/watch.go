package dockerhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
)

var _ deployer.ContainerWatcher = (*Host)(nil)

// watchActions are the events of one container that can mean it failed.
var watchActions = []string{"die", "oom", "kill", "restart", "health_status"}

// WatchContainer streams the failure-related actions of container id (die,
// oom, kill, restart, health_status: ...) until ctx ends, for the deploy's
// post-switch watch. The action channel closes when the stream ends; the
// error channel then says why.
func (h *Host) WatchContainer(ctx context.Context, id string) (<-chan string, <-chan error) {
	f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("container", id))
	for _, a := range watchActions {
		f.Add("event", a)
	}
	msgs, errs := h.engine.Events(ctx, events.ListOptions{Filters: f})
	out := make(chan string, eventBuffer)
	outErr := make(chan error, 1)
	go func() {
		defer close(outErr)
		defer close(out)
		for {
			select {
			case m := <-msgs:
				select {
				case out <- string(m.Action):
				case <-ctx.Done():
					outErr <- ctx.Err()
					return
				}
			case err := <-errs:
				outErr <- fmt.Errorf("docker events of %s: %w", short(id), err)
				return
			}
		}
	}()
	return out, outErr
}

// pinger is the optional part of Engine that Ping needs; *client.Client has it.
type pinger interface {
	Ping(ctx context.Context) (types.Ping, error)
}

// Ping checks that the engine answers. The reconciler pings when the
// events stream has been quiet, to tell a quiet daemon from a dead one.
func (h *Host) Ping(ctx context.Context) error {
	p, ok := h.engine.(pinger)
	if !ok {
		_, err := h.engine.ContainerList(ctx, container.ListOptions{Limit: 1})
		if err != nil {
			return fmt.Errorf("ping docker: %w", err)
		}
		return nil
	}
	if _, err := p.Ping(ctx); err != nil {
		return fmt.Errorf("ping docker: %w", err)
	}
	return nil
}

// healthFromStatus reads the health part of a list entry's status text
// ("Up 5 seconds (healthy)", "Up 1 second (health: starting)").
func healthFromStatus(status string) string {
	switch {
	case strings.Contains(status, "(healthy)"):
		return "healthy"
	case strings.Contains(status, "(unhealthy)"):
		return "unhealthy"
	case strings.Contains(status, "(health: starting)"):
		return "starting"
	}
	return ""
}

// WatchSource is what a Watch needs from Docker; *Host has it.
type WatchSource interface {
	Events(ctx context.Context, since time.Time, labels map[string]string, actions ...string) (<-chan Event, <-chan error)
	Ping(ctx context.Context) error
}

var _ WatchSource = (*Host)(nil)

// Watch keeps a consumer's view of some containers current: it subscribes
// to their events, re-lists them in full after every (re)connect and
// periodically, pings the daemon when the stream is quiet, and reconnects
// with backoff whenever the stream breaks. It is the one events loop of
// the project; a consumer supplies only what to watch and the callbacks.
type Watch struct {
	Source  WatchSource
	Labels  map[string]string // containers carrying all of these
	Actions []string          // event actions to receive (prefix match); none means all

	// OnEvent, when set, sees each event on the goroutine that reads the
	// stream, so it must return at once (log, set a flag): the daemon drops
	// events for a subscriber that does not read. It reports whether the
	// event calls for a re-list; without OnEvent, every event does.
	OnEvent func(Event) (relist bool)
	// Relist re-reads the full state. It runs on the Watch's own goroutine,
	// never the reader, after every (re)connect, every Timing.RelistEvery
	// and after each burst of events that asked for it; requests arriving
	// while it runs coalesce into one more call. It gets the Watch's own
	// context, not the subscription's: a re-list under way when the stream
	// breaks finishes, so a consumer is not cut off half-way, and the Watch
	// reconnects after it. An error counts as a broken stream: the Watch
	// reconnects, then re-lists again.
	Relist func(ctx context.Context) error
	// OnReconnect, when set, is called each time the stream broke and the
	// Watch is about to re-subscribe (e.g. to count reconnects). It must
	// return at once.
	OnReconnect func()

	Timing WatchTiming
	Log    zerolog.Logger
}

// WatchTiming tunes a Watch; a zero field takes the default in brackets.
type WatchTiming struct {
	// Quiet is how long the stream may go without an event before the
	// daemon is pinged, to tell a quiet daemon from a dead one [15s].
	Quiet time.Duration
	// PingTimeout bounds each ping; a daemon that does not answer in time
	// counts as gone and the Watch reconnects [5s].
	PingTimeout time.Duration
	// RelistEvery is the period of the full re-list that recovers events
	// the daemon dropped or never sent [30s]; negative turns it off, for a
	// consumer that re-lists on its own timer.
	RelistEvery time.Duration
	// Debounce lets the rest of a burst of events arrive before the
	// re-list it calls for, so a burst costs one re-list [50ms].
	Debounce time.Duration
	// StableAfter is how long a connection must have lasted for the
	// backoff to start again from attempt 0 [10s].
	StableAfter time.Duration
	// Backoff is the wait before reconnect attempt n, counted from 0
	// [doubling from 100ms up to 5s].
	Backoff func(attempt int) time.Duration
}

// sinceMargin sets the first subscription's since a moment in the past,
// so an event stamped just before the subscription is not lost.
const sinceMargin = time.Second

func (t WatchTiming) withDefaults() WatchTiming {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Quiet, 15*time.Second)
	def(&t.PingTimeout, 5*time.Second)
	if t.RelistEvery == 0 {
		t.RelistEvery = 30 * time.Second
	}
	def(&t.Debounce, 50*time.Millisecond)
	def(&t.StableAfter, 10*time.Second)
	if t.Backoff == nil {
		t.Backoff = ExpBackoff(100*time.Millisecond, 5*time.Second)
	}
	return t
}

// ExpBackoff returns a backoff that doubles from lo up to hi.
func ExpBackoff(lo, hi time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		return min(lo<<min(max(attempt, 0), 20), hi)
	}
}

// Run watches until ctx ends.
func (w *Watch) Run(ctx context.Context) {
	t := w.Timing.withDefaults()
	var since time.Time // where the next subscription replays from
	attempt := 0
	for {
		started := time.Now()
		err := w.connect(ctx, t, &since)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) >= t.StableAfter {
			attempt = 0
		}
		wait := t.Backoff(attempt)
		attempt++
		w.Log.Warn().Err(err).Dur("retry_in", wait).Msg("docker events stream ended; re-subscribing and re-listing")
		if w.OnReconnect != nil {
			w.OnReconnect()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// connect runs one subscription until it breaks. since is the cursor the
// subscription replays from (the first: a moment before now); it advances
// to the time of each event seen, for the next subscription.
func (w *Watch) connect(ctx context.Context, t WatchTiming, since *time.Time) error {
	if since.IsZero() {
		*since = time.Now().Add(-sinceMargin)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	owner := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := w.Source.Events(ctx, *since, w.Labels, w.Actions...)
	if err := w.ping(ctx, t); err != nil {
		return err
	}
	w.Log.Info().Time("since", *since).Msg("docker events subscribed; re-listing")

	want := make(chan struct{}, 1)
	relistErr := make(chan error, 1)
	ask := func() {
		select {
		case want <- struct{}{}:
		default: // one is pending: it will see this change too
		}
	}
	wg.Go(func() { w.relistLoop(ctx, owner, t.Debounce, want, relistErr) })
	ask()

	pinged := make(chan error, 1)
	pinging := false
	quiet := time.NewTimer(t.Quiet)
	defer quiet.Stop()
	var tick <-chan time.Time // nil: no periodic re-list
	if t.RelistEvery > 0 {
		ticker := time.NewTicker(t.RelistEvery)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err, ok := <-errs:
			if !ok || err == nil {
				err = errors.New("docker events: stream closed")
			}
			return err
		case ev, ok := <-events:
			if !ok {
				return streamEnd(errs)
			}
			if ev.Time.After(*since) {
				*since = ev.Time
			}
			if w.OnEvent == nil || w.OnEvent(ev) {
				ask()
			}
			quiet.Reset(t.Quiet)
		case <-tick:
			ask()
		case err := <-relistErr:
			return err
		case <-quiet.C:
			if !pinging { // off the reader, which must keep reading
				pinging = true
				wg.Go(func() { pinged <- w.ping(ctx, t) })
			}
		case err := <-pinged:
			pinging = false
			if err != nil {
				return fmt.Errorf("docker events quiet for %s and the daemon does not answer: %w", t.Quiet, err)
			}
			quiet.Reset(t.Quiet)
		}
	}
}

// relistLoop calls Relist (with owner) for each request on want, a burst
// at a time, until the subscription's ctx ends or Relist fails.
func (w *Watch) relistLoop(ctx, owner context.Context, debounce time.Duration, want <-chan struct{}, failed chan<- error) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-want:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(debounce):
		}
		select {
		case <-want: // covered by this pass
		default:
		}
		if w.Relist == nil {
			continue
		}
		if err := w.Relist(owner); err != nil {
			if ctx.Err() == nil {
				failed <- fmt.Errorf("re-list after docker events: %w", err)
			}
			return
		}
	}
}

func (w *Watch) ping(ctx context.Context, t WatchTiming) error {
	ctx, cancel := context.WithTimeout(ctx, t.PingTimeout)
	defer cancel()
	return w.Source.Ping(ctx)
}

// streamEnd says why a stream whose event channel closed ended: Host sends
// the reason before closing.
func streamEnd(errs <-chan error) error {
	select {
	case err, ok := <-errs:
		if ok && err != nil {
			return err
		}
	default:
	}
	return errors.New("docker events: stream closed")
}
