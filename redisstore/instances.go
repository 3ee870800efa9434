package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tinyforge/tinyforge/deployer"
)

// PutInstance creates or replaces one instance, keyed by container id.
func (s *Store) PutInstance(ctx context.Context, in deployer.Instance) error {
	if in.ID == "" || in.Workload == "" {
		return fmt.Errorf("put instance %q: id and workload are required", in.ID)
	}
	err := putIndexed(ctx, s.rdb, s.k.instances(), s.k.workloadInstances(in.Workload), in.ID, in)
	if err != nil {
		return fmt.Errorf("put instance %s: %w", in.ID, err)
	}
	return nil
}

// DeleteInstance forgets one instance; an unknown id is not an error, so
// the reconciler may delete twice.
func (s *Store) DeleteInstance(ctx context.Context, id string) error {
	err := deleteIndexed(ctx, s.rdb, s.k.instances(), id, func(in deployer.Instance) string {
		return s.k.workloadInstances(in.Workload)
	})
	if err != nil {
		return fmt.Errorf("delete instance %s: %w", id, err)
	}
	return nil
}

// Instances returns the instances of workload ("" = all), oldest first
// (by Created, then ID), so callers see a stable order.
func (s *Store) Instances(ctx context.Context, workload string) ([]deployer.Instance, error) {
	set := ""
	if workload != "" {
		set = s.k.workloadInstances(workload)
	}
	out, err := loadIndexed(ctx, s.rdb, s.k.instances(), set, func(in deployer.Instance) bool {
		return workload == "" || in.Workload == workload
	})
	if err != nil {
		return nil, fmt.Errorf("list instances of %q: %w", workload, err)
	}
	slices.SortFunc(out, func(a, b deployer.Instance) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
