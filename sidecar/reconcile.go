package sidecar

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// managedActions are the events of managed containers after which state
// may differ from the store: the reconciler re-lists after each burst.
var managedActions = []string{"create", "start", "die", "destroy", "health_status"}

// Reconcile-loop timing.
const (
	burstDebounce  = 50 * time.Millisecond
	reconcileLimit = 2 * time.Minute // one pass, recoveries included, must end
)

// reconcileLoop runs a reconcile pass at start (which recovers deploys a
// previous run left unfinished), every --reconcile-interval (with the
// removal of unused networks), and whenever the events watch kicks it:
// after an event burst or a (re)subscription.
func (s *Sidecar) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReconcileEvery)
	defer t.Stop()
	for {
		s.reconcileOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.pruneNetworks(ctx)
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

// managedWatch kicks a reconcile pass after every burst of events of
// managed containers and after every (re)connect of the Docker events
// stream (see dockerhost.Watch for the subscription, pings and backoff).
// It has no periodic re-list: reconcileLoop passes every
// --reconcile-interval on its own.
func managedWatch(docker dockerhost.WatchSource, kick func(), log zerolog.Logger) *dockerhost.Watch {
	return &dockerhost.Watch{
		Source:  docker,
		Labels:  map[string]string{labels.Managed: "true"},
		Actions: managedActions,
		OnEvent: func(ev dockerhost.Event) bool {
			log.Debug().Str("action", ev.Action).Str(logkey.Container, ev.Name).Msg("managed container event")
			return true
		},
		Relist: func(context.Context) error { kick(); return nil },
		Timing: dockerhost.WatchTiming{RelistEvery: -1},
		Log:    log,
	}
}

// managedServiceWatch is managedWatch for a swarm: service events carry
// no labels, so every create, update or removal of a service kicks a pass
// (which lists the managed services by label).
func managedServiceWatch(services dockerhost.WatchSource, kick func(), log zerolog.Logger) *dockerhost.Watch {
	return &dockerhost.Watch{
		Source:  services,
		Actions: []string{"create", "update", "remove"},
		OnEvent: func(ev dockerhost.Event) bool {
			log.Debug().Str("action", ev.Action).Str(logkey.Container, ev.Name).Msg("service event")
			return true
		},
		Relist: func(context.Context) error { kick(); return nil },
		Timing: dockerhost.WatchTiming{RelistEvery: -1},
		Log:    log,
	}
}
