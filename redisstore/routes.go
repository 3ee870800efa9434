package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tinyforge/tinyforge/deployer"
)

// PutRoute creates or replaces one route, keyed by route id.
func (s *Store) PutRoute(ctx context.Context, r deployer.Route) error {
	if r.ID == "" || r.Workload == "" {
		return fmt.Errorf("put route %q: id and workload are required", r.ID)
	}
	if err := putIndexed(ctx, s.rdb, s.k.routes(), s.k.workloadRoutes(r.Workload), r.ID, r); err != nil {
		return fmt.Errorf("put route %s: %w", r.ID, err)
	}
	return nil
}

// DeleteRoute forgets one route; an unknown id is not an error.
func (s *Store) DeleteRoute(ctx context.Context, id string) error {
	err := deleteIndexed(ctx, s.rdb, s.k.routes(), id, func(r deployer.Route) string {
		return s.k.workloadRoutes(r.Workload)
	})
	if err != nil {
		return fmt.Errorf("delete route %s: %w", id, err)
	}
	return nil
}

// Routes returns the routes of workload ("" = all), sorted by ID.
func (s *Store) Routes(ctx context.Context, workload string) ([]deployer.Route, error) {
	set := ""
	if workload != "" {
		set = s.k.workloadRoutes(workload)
	}
	out, err := loadIndexed(ctx, s.rdb, s.k.routes(), set, func(r deployer.Route) bool {
		return workload == "" || r.Workload == workload
	})
	if err != nil {
		return nil, fmt.Errorf("list routes of %q: %w", workload, err)
	}
	slices.SortFunc(out, func(a, b deployer.Route) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
