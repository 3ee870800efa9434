package deployer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// Surplus chooses the containers to remove after a deploy: the workload's
// containers newest first with the new one pinned first, and everything
// beyond keep. A failure to pick the new one would be a disaster, so it is
// never in the result.
func Surplus(containers []Container, newID string, keep int) []Container {
	keep = max(keep, 1)
	ordered := slices.Clone(containers)
	slices.SortStableFunc(ordered, func(a, b Container) int {
		switch {
		case a.ID == newID:
			return -1
		case b.ID == newID:
			return 1
		}
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name) // later names carry later timestamps
	})
	var out []Container
	for i, c := range ordered {
		if i >= keep && c.ID != newID {
			out = append(out, c)
		}
	}
	return out
}

// removeSurplus keeps the workload's newest containers (keepID first) and
// stops and removes the rest, never the one the routes point at. Each
// removal is preceded by a lease check, so a superseded holder stops. The
// deploy has already succeeded: failures here are logged, never rolled
// back. The only error returned is the lease check's (ErrFenced).
func (e *Engine) removeSurplus(ctx context.Context, l Lease, workload, keepID string, keep int, log zerolog.Logger) ([]string, error) {
	ctx = context.WithoutCancel(ctx)
	if err := e.Coord.Commit(ctx, l, Writes{}); err != nil {
		return nil, fmt.Errorf("remove surplus: %w", err)
	}
	all, err := e.Containers(ctx, workload)
	if err != nil {
		log.Error().Err(err).Msg("list containers for surplus removal")
		return nil, nil
	}
	routed := map[string]bool{}
	if rs, err := e.Store.Routes(ctx, workload); err == nil {
		for _, r := range rs {
			routed[r.Container] = true
		}
	} else {
		log.Error().Err(err).Msg("read routes for surplus removal")
		return nil, nil
	}
	var removed []string
	for _, c := range Surplus(all, keepID, keep) {
		if routed[c.ID] {
			log.Warn().Str(logkey.Container, c.Name).Msg("surplus container still routed: kept")
			continue
		}
		if err := e.Coord.Commit(ctx, l, Writes{}); err != nil {
			log.Warn().Err(err).Msg("surplus removal stopped: lease check failed")
			return removed, fmt.Errorf("remove surplus: %w", err)
		}
		if c.Running {
			if err := e.Docker.Stop(ctx, c.ID, e.StopGrace); err != nil {
				log.Warn().Err(err).Str(logkey.Container, c.Name).Msg("stop surplus container")
			}
		}
		if err := e.Docker.Remove(ctx, c.ID); err != nil {
			log.Error().Err(err).Str(logkey.Container, c.Name).Msg("remove surplus container")
			continue
		}
		gone := Instance{ID: c.ID, Workload: workload}
		if err := e.Coord.Commit(ctx, l, Writes{DeleteInstances: []Instance{gone}}); err != nil {
			log.Error().Err(err).Str(logkey.Container, c.Name).Msg("delete record of surplus container")
		}
		removed = append(removed, c.Name)
	}
	return removed, nil
}
