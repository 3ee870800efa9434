package deployer

import (
	"context"
	"errors"
	"fmt"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// Teardown removes everything of a workload: its routes first (so no
// traffic reaches what goes next), then every container, then its
// records, and records the teardown. It is idempotent: a second run finds
// nothing, does nothing and records nothing.
func (e *Engine) Teardown(ctx context.Context, workload string) (removed int, err error) {
	log := e.Log.With().Str(logkey.Workload, workload).Logger()
	// Under the deploy lock: a teardown never overlaps a deploy of the
	// workload, on this sidecar or another sharing the store.
	lease, err := e.lock(ctx, workload)
	if err != nil {
		return 0, fmt.Errorf("teardown %s: %w", workload, err)
	}
	ctx, release := e.keepLease(ctx, lease)
	defer release()
	var errs []error
	routes, err := e.Store.Routes(ctx, workload)
	if err != nil {
		return 0, fmt.Errorf("teardown %s: read routes: %w", workload, err)
	}
	var unrouted []Route
	defer func() { e.teardownNames(ctx, workload, unrouted, len(unrouted) == len(routes)) }()
	for _, r := range routes {
		if err := e.Proxy.Delete(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("delete route %s (%s): %w", r.ID, r.Host, err))
			continue // keep the record: a retry must still find the route
		}
		unrouted = append(unrouted, r)
		if err := e.Store.DeleteRoute(ctx, r.ID); err != nil {
			errs = append(errs, err)
		}
		removed++
	}
	containers, err := e.owned(ctx, workload) // a release command's container too
	if err != nil {
		return removed, fmt.Errorf("teardown %s: list containers: %w", workload, err)
	}
	for _, c := range containers {
		if c.Running {
			if err := e.Docker.Stop(ctx, c.ID, e.StopGrace); err != nil {
				log.Warn().Err(err).Str(logkey.Container, c.Name).Msg("stop before teardown")
			}
		}
		if err := e.Docker.Remove(ctx, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	instances, err := e.Store.Instances(ctx, workload)
	if err != nil {
		errs = append(errs, err)
	}
	for _, in := range instances {
		if err := e.Store.DeleteInstance(ctx, in.ID); err != nil {
			errs = append(errs, err)
		}
	}
	err = errors.Join(errs...)
	if err == nil {
		e.releaseHosts(ctx, workload, nil)
		e.conflicts.set(workload, nil, e)
	}
	if removed > 0 || err != nil {
		ev := Event{Time: e.Now().UTC(), Outcome: "torn down", Source: "teardown"}
		if err != nil {
			ev.Outcome = "failed: teardown: " + err.Error()
		}
		if rerr := e.Store.AppendEvent(context.WithoutCancel(ctx), workload, ev); rerr != nil {
			log.Error().Err(rerr).Msg("record teardown")
		}
		log.Info().Int("removed", removed).AnErr("error", err).Msg("workload torn down")
	}
	return removed, err
}
