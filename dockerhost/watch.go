package dockerhost

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

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
