package sidecar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/labels"
)

// managedActions are the events of managed containers after which state
// may differ from the store: the reconciler re-lists after each burst.
var managedActions = []string{"create", "start", "die", "destroy", "health_status"}

// Event-loop timing.
const (
	quietPing      = 15 * time.Second // ping the daemon after this long without an event
	pingTimeout    = 5 * time.Second
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
	stableStream   = 10 * time.Second // a subscription this old resets the backoff
	burstDebounce  = 50 * time.Millisecond
	reconcileLimit = 2 * time.Minute // one pass, recoveries included, must end
)

// reconcileLoop runs a reconcile pass at start (which recovers deploys a
// previous run left unfinished), every --reconcile-interval, and whenever
// the events watch kicks it: after an event burst or a (re)subscription.
func (s *Sidecar) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReconcileEvery)
	defer t.Stop()
	for {
		s.reconcileOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kicks:
			// Let the rest of a burst arrive: one pass covers it.
			select {
			case <-ctx.Done():
				return
			case <-time.After(burstDebounce):
			}
			select {
			case <-s.kicks:
			default:
			}
		}
	}
}

// kick asks the reconcile loop for a pass without waiting for it.
func (s *Sidecar) kick() {
	select {
	case s.kicks <- struct{}{}:
	default:
	}
}

// eventSource is what the events watch needs from Docker.
type eventSource interface {
	Events(ctx context.Context, since time.Time, labels map[string]string, actions ...string) (<-chan dockerhost.Event, <-chan error)
	Ping(ctx context.Context) error
}

// eventWatch keeps a subscription to the Docker events of managed
// containers. It subscribes with since set a moment in the past, checks
// the daemon answers, then kicks a re-list (so nothing between the list
// and the subscription is missed); it kicks again after every event
// burst, pings the daemon when the stream has been quiet, and after any
// failure re-subscribes with backoff, which survives a daemon restart.
type eventWatch struct {
	docker  eventSource
	kick    func()
	log     zerolog.Logger
	quiet   time.Duration
	backoff func(attempt int) time.Duration
}

func newEventWatch(docker eventSource, kick func(), log zerolog.Logger) *eventWatch {
	return &eventWatch{docker: docker, kick: kick, log: log, quiet: quietPing, backoff: expBackoff}
}

// expBackoff doubles from minBackoff up to maxBackoff.
func expBackoff(attempt int) time.Duration {
	d := minBackoff << min(attempt, 10)
	return min(d, maxBackoff)
}

// Run watches until ctx ends.
func (w *eventWatch) Run(ctx context.Context) {
	attempt := 0
	for {
		started := time.Now()
		err := w.once(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) >= stableStream {
			attempt = 0
		}
		wait := w.backoff(attempt)
		attempt++
		w.log.Warn().Err(err).Dur("retry_in", wait).Msg("docker events stream ended; re-subscribing and re-listing")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (w *eventWatch) once(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	since := time.Now().Add(-time.Second)
	events, errs := w.docker.Events(ctx, since, map[string]string{labels.Managed: "true"}, managedActions...)
	if err := w.ping(ctx); err != nil {
		return err
	}
	w.log.Info().Msg("docker events subscribed; re-listing")
	w.kick()
	quiet := time.NewTimer(w.quiet)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			if err == nil {
				err = errors.New("events stream closed")
			}
			return err
		case ev, ok := <-events:
			if !ok {
				return errors.New("events stream closed")
			}
			w.log.Debug().Str("action", ev.Action).Str("container", ev.Name).Msg("managed container event")
			w.kick()
		case <-quiet.C:
			if err := w.ping(ctx); err != nil {
				return fmt.Errorf("events stream quiet and the daemon does not answer: %w", err)
			}
		}
		if !quiet.Stop() {
			select {
			case <-quiet.C:
			default:
			}
		}
		quiet.Reset(w.quiet)
	}
}

func (w *eventWatch) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return w.docker.Ping(ctx)
}
