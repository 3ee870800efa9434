package deployer

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// migrateRoutes moves the routes of one workload that are recorded under
// a legacy id (LegacyRouteID, from before ids were injective) to their
// RouteID, under lease l, without a moment where the host is unrouted:
// for each, the route under the new id, with the same upstream, is added
// to the proxy first, then the legacy one is removed from the proxy, and
// only then does the store swap the records. A failure at any point
// leaves the store holding the legacy route, so the next pass does the
// same again: re-adding the new id replaces it in place, and removing a
// legacy route already gone is not an error. It returns routes with every
// route migrated so far under its new id, also on error.
func (e *Engine) migrateRoutes(ctx context.Context, l Lease, routes []Route, log zerolog.Logger) ([]Route, error) {
	var legacy []int
	for i, r := range routes {
		if IsLegacyRouteID(r) {
			legacy = append(legacy, i)
		}
	}
	if len(legacy) == 0 {
		return routes, nil
	}
	out := append([]Route(nil), routes...)
	if err := e.Coord.Commit(ctx, l, Writes{}); err != nil {
		return out, fmt.Errorf("migrate route ids: %w", err)
	}
	for _, i := range legacy {
		old := routes[i]
		next := old
		next.ID = RouteID(old.Workload, old.Face)
		if err := e.Proxy.Upsert(ctx, next); err != nil {
			return out, fmt.Errorf("migrate route %s to %s (%s): add the new id: %w", old.ID, next.ID, old.Host, err)
		}
		if err := e.Proxy.Delete(ctx, old); err != nil {
			return out, fmt.Errorf("migrate route %s to %s (%s): remove the old id: %w", old.ID, next.ID, old.Host, err)
		}
		if err := e.Coord.Commit(ctx, l, Writes{Routes: []Route{next}, DeleteRoutes: []Route{old}}); err != nil {
			return out, fmt.Errorf("migrate route %s to %s (%s): record: %w", old.ID, next.ID, old.Host, err)
		}
		out[i] = next
		log.Info().Str(logkey.Route, next.ID).Str("legacy_route", old.ID).Str(logkey.Host, old.Host).Msg("route moved to its injective id")
	}
	return out, nil
}

// migrateAll moves every workload's legacy-id routes to their new ids, each
// under that workload's lease, and returns routes with the migrated ones
// replaced. A workload whose lock is busy, or whose migration fails, keeps
// its legacy routes for now (a deploy in flight migrates them itself
// before its switch); the failure is logged, never fatal to the pass.
func (e *Engine) migrateAll(ctx context.Context, routes []Route) []Route {
	byWorkload := map[string][]int{}
	for i, r := range routes {
		if IsLegacyRouteID(r) {
			byWorkload[r.Workload] = append(byWorkload[r.Workload], i)
		}
	}
	if len(byWorkload) == 0 {
		return routes
	}
	out := append([]Route(nil), routes...)
	for w, idx := range byWorkload {
		log := e.Log.With().Str(logkey.Workload, w).Logger()
		mine := make([]Route, len(idx))
		for k, i := range idx {
			mine[k] = routes[i]
		}
		err := e.withLease(ctx, w, func(ctx context.Context, l Lease) error {
			moved, err := e.migrateRoutes(ctx, l, mine, log)
			mine = moved
			return err
		})
		if err != nil {
			log.Warn().Err(err).Msg("route ids not all migrated yet; next pass retries")
		}
		for k, i := range idx {
			out[i] = mine[k]
		}
	}
	return out
}
