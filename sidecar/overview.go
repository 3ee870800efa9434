package sidecar

import (
	"context"
	"maps"
	"slices"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/overview"
)

// overview is what GET /v1/workloads answers and the status page shows:
// every declared workload with its instances, routes, last ten deploys,
// pending approval and poll state, the label problems of each controller
// and the orphans.
func (s *Sidecar) overview(ctx context.Context) (overview.Status, error) {
	workloads := s.controllers.Workloads()
	out := overview.Status{Workloads: map[string]*overview.Workload{}, Problems: s.controllers.Problems()}
	records := s.dnsStatuses()
	pending, err := s.intake.PendingApprovals(ctx)
	if err != nil {
		return overview.Status{}, storeDown(err)
	}
	conflicts := s.engine.HostConflicts()
	for _, name := range slices.Sorted(maps.Keys(workloads)) {
		st := &overview.Workload{Config: workloads[name], Busy: s.queue.Busy(name), DNS: records[name], HostConflicts: conflicts[name]}
		if p, ok := pending[name]; ok {
			st.Pending = &overview.Approval{Image: p.Image, Tag: p.Tag, Digest: p.Digest, Source: p.Source, Since: p.Since, Expires: p.Expires}
		}
		if ps, ok := s.poller.Status(name); ok {
			st.Poll = &ps
		}
		delete(records, name)
		var err error
		if st.Instances, err = s.store.Instances(ctx, name); err != nil {
			return overview.Status{}, storeDown(err)
		}
		if st.Routes, err = s.store.Routes(ctx, name); err != nil {
			return overview.Status{}, storeDown(err)
		}
		history, err := s.store.Events(ctx, name, 100)
		if err != nil {
			return overview.Status{}, storeDown(err)
		}
		st.Tasks = s.tasksOf(ctx, st.Instances)
		deploys := deployer.Deploys(history) // deliveries: /v1/workloads/{name}/events
		st.History = deploys[:min(10, len(deploys))]
		out.Workloads[name] = st
	}
	s.mu.Lock()
	out.Orphans = maps.Clone(s.orphanStatus)
	s.mu.Unlock()
	if len(records) > 0 { // records of workloads no controller declares: kept until teardown, or being removed
		out.DNSUndeclared = records
	}
	out.Unverified = s.engine.Unverified() // labelled managed, not signed by this sidecar: ignored
	return out, nil
}
