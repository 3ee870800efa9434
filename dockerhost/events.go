package dockerhost

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/events"
)

// Event is one container event from the engine.
type Event struct {
	// Action is Docker's action: create, start, die, destroy, update, or
	// "health_status: healthy" and the like.
	Action      string
	ContainerID string
	Name        string // container name, without the leading slash
	// Labels are the actor attributes other than name and image: the
	// container's labels, plus what the engine adds to some actions
	// (exitCode on die, signal on kill).
	Labels map[string]string
	Time   time.Time
}

// eventBuffer absorbs bursts: the engine drops a subscriber that does not
// read within about 100 ms, so the reading goroutine must not wait on a
// slow consumer for long.
const eventBuffer = 256

// Events streams container events carrying all the given labels, restricted
// to actions when any are given (an action matches by prefix, so
// "health_status" matches every health change). Events since since are
// replayed first (the engine keeps the last 256); a zero since means only
// new ones. The event channel closes when the stream ends; the error channel
// then yields why (wrapping ctx.Err() after cancellation) and closes. The caller
// re-subscribes, and should re-list, after any error.
func (h *Host) Events(ctx context.Context, since time.Time, labels map[string]string, actions ...string) (<-chan Event, <-chan error) {
	return h.events(ctx, events.ContainerEventType, since, labels, actions...)
}

// ServiceEvents is a WatchSource of swarm service events (create, update,
// remove) instead of container events, for a sidecar on a swarm manager.
// The engine puts no labels on service events, only the name, so a label
// filter would drop them all: the watch must not ask for one, and
// re-lists services by label instead.
func (h *Host) ServiceEvents() WatchSource { return serviceEvents{h} }

type serviceEvents struct{ h *Host }

func (s serviceEvents) Events(ctx context.Context, since time.Time, labels map[string]string, actions ...string) (<-chan Event, <-chan error) {
	return s.h.events(ctx, events.ServiceEventType, since, labels, actions...)
}

func (s serviceEvents) Ping(ctx context.Context) error { return s.h.Ping(ctx) }

func (h *Host) events(ctx context.Context, typ events.Type, since time.Time, labels map[string]string, actions ...string) (<-chan Event, <-chan error) {
	f := labelFilters(labels)
	f.Add("type", string(typ))
	for _, a := range actions {
		f.Add("event", a)
	}
	opts := events.ListOptions{Filters: f}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}

	ctx, cancel := context.WithCancel(ctx)
	msgs, errs := h.engine.Events(ctx, opts)
	out := make(chan Event, eventBuffer)
	outErr := make(chan error, 1)
	go func() {
		defer close(outErr)
		defer close(out)
		defer cancel()
		for {
			select {
			case m := <-msgs:
				select {
				case out <- toEvent(m):
				case <-ctx.Done():
					outErr <- ctx.Err()
					return
				}
			case err := <-errs:
				if err == nil {
					err = fmt.Errorf("docker events: stream closed")
				}
				outErr <- fmt.Errorf("docker events: %w", err)
				return
			}
		}
	}()
	return out, outErr
}

func toEvent(m events.Message) Event {
	ev := Event{
		Action:      string(m.Action),
		ContainerID: m.Actor.ID,
		Name:        m.Actor.Attributes["name"],
		Labels:      make(map[string]string, len(m.Actor.Attributes)),
		Time:        time.Unix(0, m.TimeNano),
	}
	if m.TimeNano == 0 {
		ev.Time = time.Unix(m.Time, 0)
	}
	for k, v := range m.Actor.Attributes {
		if k != "name" && k != "image" {
			ev.Labels[k] = v
		}
	}
	return ev
}
