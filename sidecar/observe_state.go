package sidecar

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tinyforge/tinyforge/controllers"
	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/metrics"
	"github.com/tinyforge/tinyforge/notify"
)

// stateWatch is what observeState remembers between reconcile passes.
// Only the reconcile loop touches it.
type stateWatch struct {
	workloads map[string]bool // workloads with series in the metrics
	troubled  map[string]bool // workloads orphaned, in conflict or invalid
}

// observeState publishes, after a reconcile pass, the workloads by state,
// each workload's containers by Docker state (on a swarm: its services by
// state, and their tasks meant to run by task state) and the inbox backlog;
// forgets the series of workloads gone; and notifies orphaned, conflict
// and invalid workloads (notify drops an unchanged repeat), telling
// notify when one is resolved so that a relapse is news again.
func (s *Sidecar) observeState(ctx context.Context, snapshot []deployer.Container, orphans map[string]controllers.OrphanStatus) {
	declared := s.controllers.Workloads()
	found := s.controllers.Findings()
	s.metrics.Workloads(map[string]int{
		metrics.WorkloadDeclared: len(declared),
		metrics.WorkloadOrphaned: len(orphans),
		metrics.WorkloadConflict: len(found.Conflicts),
		metrics.WorkloadInvalid:  len(found.Invalid),
	})

	instances, tasks := map[string]map[string]int{}, map[string]map[string]int{}
	for name := range declared {
		instances[name], tasks[name] = map[string]int{}, map[string]int{}
	}
	for _, c := range snapshot {
		name := c.Labels[labels.ManagedWorkload]
		if name == "" {
			continue
		}
		if instances[name] == nil {
			instances[name], tasks[name] = map[string]int{}, map[string]int{}
		}
		instances[name][c.State]++
		for _, t := range c.Tasks { // a service's, on a swarm
			tasks[name][t.State]++
		}
	}
	for name, counts := range instances {
		s.metrics.Instances(name, counts)
		s.metrics.Tasks(name, tasks[name]) // nothing without --engine swarm
	}
	for name := range s.state.workloads {
		if instances[name] == nil {
			s.metrics.ForgetWorkload(name)
		}
	}
	s.state.workloads = map[string]bool{}
	for name := range instances {
		s.state.workloads[name] = true
	}

	if s.store != nil {
		if n, err := s.store.InboxLen(ctx); err == nil {
			s.metrics.InboxPending(int(n))
		}
	}
	s.notifyTrouble(orphans, found)
}

// notifyTrouble sends the orphaned, conflict and invalid events of this
// pass and resolves those of workloads out of trouble.
func (s *Sidecar) notifyTrouble(orphans map[string]controllers.OrphanStatus, found controllers.Findings) {
	troubled := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(orphans)) {
		troubled[name] = true
		reason := "no controller declares it any more; its containers keep running"
		if s.cfg.TeardownOrphans {
			reason = fmt.Sprintf("no controller declares it any more; its containers are removed %s after it was orphaned", s.cfg.OrphanGrace)
		}
		s.obs.send(notify.Event{Kind: notify.Orphaned, Workload: name, Reason: reason})
	}
	for _, name := range slices.Sorted(maps.Keys(found.Conflicts)) {
		troubled[name] = true
		s.obs.send(notify.Event{Kind: notify.Conflict, Workload: name,
			Reason: "declared differently by controllers " + strings.Join(found.Conflicts[name], ", ") + "; it stays as deployed until they agree"})
	}
	for _, name := range slices.Sorted(maps.Keys(found.Invalid)) {
		troubled[name] = true
		s.obs.send(notify.Event{Kind: notify.Invalid, Workload: name, Reason: strings.Join(found.Invalid[name], "; ")})
	}
	for name := range s.state.troubled {
		if !troubled[name] {
			s.notifier.Resolved(name)
		}
	}
	s.state.troubled = troubled
}
