package deployer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

// ContainerWatcher is optional on Docker (dockerhost.Host has it): a
// stream of one container's lifecycle actions ("die", "oom", "restart",
// "health_status: unhealthy", ...) until ctx ends. The post-switch watch
// uses it to react at once; without it, the watch polls Inspect only.
type ContainerWatcher interface {
	WatchContainer(ctx context.Context, id string) (<-chan string, <-chan error)
}

// unhealthyProbes is how many health probes in a row must fail before the
// watch gives up on the new container.
const unhealthyProbes = 3

// watch observes the new container for Config.Watch after the switch:
// Docker's die/oom/restart/unhealthy events, its state, restart count and
// health on every WatchInterval, and the workload's health probe. The old
// container is still running meanwhile, so a failure (ErrWatchFailed) can
// switch the routes straight back to it. A newer request for the workload
// ends the watch early with errSuperseded (see Superseded): the version
// it asks for replaces this one anyway, and must not wait for its watch.
func (d *deploy) watch(ctx context.Context) error {
	if d.Watch <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, d.Watch)
	defer cancel()
	var actions <-chan string
	if cw, ok := d.Docker.(ContainerWatcher); ok {
		actions, _ = cw.WatchContainer(wctx, d.inst.ID)
	}
	base, err := d.Docker.Inspect(ctx, d.inst.ID)
	if err != nil {
		return fmt.Errorf("%w: inspect %s: %w", ErrWatchFailed, d.inst.Name, err)
	}
	if reason := containerFailure(base, d.restarts); reason != "" {
		return fmt.Errorf("%w: %s %s", ErrWatchFailed, d.inst.Name, reason)
	}
	tick := time.NewTicker(d.WatchInterval)
	defer tick.Stop()
	newer := Superseded(ctx)
	failed := 0
	for {
		select {
		case <-newer:
			return errSuperseded
		case <-wctx.Done():
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			d.log.Debug().Dur("watched", d.Watch).Msg("post-switch watch passed")
			return nil
		case a, ok := <-actions:
			if !ok {
				actions = nil // stream ended: polling carries on alone
				continue
			}
			if reason := actionFailure(a); reason != "" {
				return fmt.Errorf("%w: %s %s", ErrWatchFailed, d.inst.Name, reason)
			}
		case <-tick.C:
			c, err := d.Docker.Inspect(wctx, d.inst.ID)
			if err != nil {
				if wctx.Err() == nil {
					d.log.Warn().Err(err).Msg("watch: inspect new container")
				}
				continue
			}
			if reason := containerFailure(c, d.restarts); reason != "" {
				return fmt.Errorf("%w: %s %s", ErrWatchFailed, d.inst.Name, reason)
			}
			// The probes of the deploy's health check (of every task, on an
			// engine with tasks), once a tick; for healthcheck docker,
			// containerFailure read Docker's verdict.
			if k := d.w.HealthKind(); k == labels.HealthNone || k == labels.HealthDocker {
				continue
			}
			addrs, err := d.probeAddresses(wctx, d.inst.ID, c.IPs[d.network])
			if err != nil {
				continue // no address to probe yet: the state checks above carry on
			}
			pctx, pcancel := context.WithTimeout(wctx, d.WatchInterval)
			err = d.allHealthy(pctx, addrs)
			pcancel()
			switch {
			case err == nil:
				failed = 0
			case wctx.Err() == nil:
				failed++
				if failed >= unhealthyProbes {
					return fmt.Errorf("%w: %s health check failed %d times: %w", ErrWatchFailed, d.inst.Name, failed, err)
				}
			}
		}
	}
}

// actionFailure says why a Docker event means the container failed, or "".
func actionFailure(action string) string {
	switch {
	case action == "die", action == "oom", action == "restart", action == "kill":
		return "got Docker event " + action
	case strings.HasPrefix(action, "health_status") && strings.Contains(action, "unhealthy"):
		return "became unhealthy (Docker health check)"
	}
	return ""
}

// containerFailure says why a container's state means it failed, or "".
func containerFailure(c Container, baseRestarts int) string {
	switch {
	case !c.Running:
		return "is " + c.State
	case c.Restarts > baseRestarts:
		return fmt.Sprintf("restarted %d times", c.Restarts-baseRestarts)
	case c.Health == "unhealthy":
		return "is unhealthy (Docker health check)"
	}
	return ""
}
