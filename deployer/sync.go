package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// SyncReport says what one reconcile pass did.
type SyncReport struct {
	// Snapshot is the one container list the pass worked from, so callers
	// can decide more from it without asking Docker again.
	Snapshot   []Container
	Containers int      // managed containers in the snapshot
	Changed    int      // records whose state or address changed
	Adopted    int      // containers the store did not know, recorded from their labels
	Rerouted   int      // routes re-pointed or rebuilt
	Recovered  int      // unfinished deploys finished or undone
	Busy       []string // workloads skipped because their lock was held
}

// WorkloadPlan is what one reconcile pass must do for one workload. It is
// computed by PlanSync from plain data.
type WorkloadPlan struct {
	Workload   string
	Containers []Container // the workload's managed containers
	Routes     []Route     // the workload's stored routes
	// Recover lists unfinished deploys; when any exist, the pass recovers
	// them and leaves everything else to the next pass.
	Recover []Journal
	// Drains lists drains of successful deploys (journals at StepWatched):
	// they run in the background and hold up nothing (see drain.go).
	Drains []Journal
	// Drifted are records whose state or address Docker now tells
	// otherwise, already updated; written only where the record still
	// exists (Writes.Refresh).
	Drifted []Instance
	// Adopt are containers the store does not know, as new records (after
	// Redis lost its data). A container on its way out (removing, dead) is
	// never adopted: a drain is removing it and has forgotten its record.
	Adopt   []Instance
	Reroute []Route // routes re-pointed at their container's current address
	// Orphaned are routes whose container is gone from Docker.
	Orphaned []Route
	// NeedRoutes: the workload is declared and has running containers but
	// no stored routes (the store lost them): rebuild them.
	NeedRoutes bool
}

func (p WorkloadPlan) empty() bool {
	return len(p.Recover)+len(p.Drifted)+len(p.Adopt)+len(p.Reroute)+len(p.Orphaned) == 0 && !p.NeedRoutes
}

// PlanSync compares the store (instances, routes, open journals) with one
// Docker snapshot of every managed container and returns, per workload
// with anything to do, what must change. declared names the workloads
// whose config is known (their routes can be rebuilt).
func PlanSync(instances []Instance, routes []Route, journals []Journal, containers []Container, network string, byName bool, publishHost string, declared map[string]bool) []WorkloadPlan {
	names := map[string]bool{}
	cs := map[string][]Container{}
	for _, c := range containers {
		w := c.Labels[labels.ManagedWorkload]
		if w == "" {
			continue
		}
		names[w] = true
		cs[w] = append(cs[w], c)
	}
	ins := map[string][]Instance{}
	for _, in := range instances {
		names[in.Workload] = true
		ins[in.Workload] = append(ins[in.Workload], in)
	}
	rs := map[string][]Route{}
	for _, r := range routes {
		names[r.Workload] = true
		rs[r.Workload] = append(rs[r.Workload], r)
	}
	js, drains := map[string][]Journal{}, map[string][]Journal{}
	for _, j := range journals {
		names[j.Workload] = true
		if j.Step == StepWatched {
			drains[j.Workload] = append(drains[j.Workload], j)
			continue
		}
		js[j.Workload] = append(js[j.Workload], j)
	}

	var plans []WorkloadPlan
	for _, w := range slices.Sorted(maps.Keys(names)) {
		p := WorkloadPlan{Workload: w, Containers: cs[w], Routes: rs[w], Recover: js[w], Drains: drains[w]}
		if len(p.Recover) > 0 {
			plans = append(plans, p)
			continue
		}
		p.Drifted = Drift(ins[w], cs[w], network)
		known := map[string]bool{}
		for _, in := range ins[w] {
			known[in.ID] = true
		}
		for _, c := range cs[w] {
			if !known[c.ID] && !leaving(c) {
				p.Adopt = append(p.Adopt, InstanceFromContainer(c, network))
			}
		}
		for _, r := range rs[w] {
			c, ok := containerByID(cs[w], r.Container)
			switch {
			case !ok:
				p.Orphaned = append(p.Orphaned, r)
			case c.Running:
				if want := retarget(r, c, network, byName, publishHost); want.Upstream != r.Upstream {
					p.Reroute = append(p.Reroute, want)
				}
			}
		}
		p.NeedRoutes = declared[w] && len(rs[w]) == 0 && slices.ContainsFunc(cs[w], func(c Container) bool { return c.Running })
		if !p.empty() || len(p.Drains) > 0 {
			plans = append(plans, p)
		}
	}
	return plans
}

// Sync is one reconcile pass. One Docker call (a list of every managed
// container) drives it, whatever the number of containers; then, per
// workload with anything to do and under that workload's lock:
// unfinished deploys are finished or undone (Recover), instance records
// take Docker's state and address, containers the store does not know
// (after Redis lost its data) are adopted from their labels, routes follow
// a container whose address changed, and routes the store lost are
// rebuilt for declared workloads. A workload whose lock is busy (a deploy
// runs) is left for the next pass.
func (e *Engine) Sync(ctx context.Context, workloads map[string]*labels.Workload) (SyncReport, error) {
	var rep SyncReport
	owned, err := e.owned(ctx, "")
	if err != nil {
		return rep, fmt.Errorf("reconcile: list managed containers: %w", err)
	}
	containers := slices.DeleteFunc(slices.Clone(owned), isRelease)
	rep.Snapshot, rep.Containers = containers, len(containers)
	instances, err := e.Store.Instances(ctx, "")
	if err != nil {
		return rep, fmt.Errorf("reconcile: read instances: %w", err)
	}
	routes, err := e.Store.Routes(ctx, "")
	if err != nil {
		return rep, fmt.Errorf("reconcile: read routes: %w", err)
	}
	routes = e.migrateAll(ctx, routes)
	journals, err := e.Coord.Journals(ctx)
	if err != nil {
		return rep, fmt.Errorf("reconcile: read journals: %w", err)
	}
	if err := e.reclaimHosts(ctx, containers, workloads); err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	declared := map[string]bool{}
	for name, w := range workloads {
		declared[name] = w != nil && HasFaces(w)
	}
	plans, err := e.confirmAdoptions(ctx, PlanSync(instances, routes, journals, containers, e.Network, e.UpstreamByName, e.PublishHost, declared))
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, p := range plans {
		e.adopt(p.Drains)
		if p.empty() {
			continue
		}
		err := e.withLease(ctx, p.Workload, func(ctx context.Context, l Lease) error {
			return e.apply(ctx, l, p, workloads[p.Workload], &rep)
		})
		switch {
		case errors.Is(err, errSkipped):
			rep.Busy = append(rep.Busy, p.Workload)
		case err != nil:
			errs = append(errs, fmt.Errorf("reconcile %s: %w", p.Workload, err))
		}
	}
	if strays := StrayReleases(owned, journals); len(strays) > 0 {
		errs = append(errs, e.removeStrays(ctx, strays))
	}
	return rep, errors.Join(errs...)
}

// leaving reports whether a container is on its way out of Docker.
func leaving(c Container) bool {
	return c.State == "removing" || c.State == "dead"
}

// confirmAdoptions keeps, in plans, the adoptions of containers Docker
// still has, listed once more now that the records were read. A record a
// drain forgot was forgotten after its container was removed, so a list
// taken after the records were read no longer shows that container:
// adopting it from the first snapshot would bring its record back for
// good. One list for the whole pass, and only when there is anything to
// adopt (the store lost records).
func (e *Engine) confirmAdoptions(ctx context.Context, plans []WorkloadPlan) ([]WorkloadPlan, error) {
	if !slices.ContainsFunc(plans, func(p WorkloadPlan) bool { return len(p.Adopt) > 0 }) {
		return plans, nil
	}
	now, err := e.owned(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("reconcile: list managed containers again: %w", err)
	}
	there := map[string]bool{}
	for _, c := range now {
		there[c.ID] = !leaving(c)
	}
	for i := range plans {
		plans[i].Adopt = slices.DeleteFunc(plans[i].Adopt, func(in Instance) bool { return !there[in.ID] })
	}
	return slices.DeleteFunc(plans, func(p WorkloadPlan) bool { return p.empty() && len(p.Drains) == 0 }), nil
}

// apply carries out one workload's plan under lease l.
func (e *Engine) apply(ctx context.Context, l Lease, p WorkloadPlan, w *labels.Workload, rep *SyncReport) error {
	log := e.Log.With().Str(logkey.Workload, p.Workload).Int64("epoch", l.Epoch).Logger()
	if len(p.Recover) > 0 {
		// The pass's snapshot was taken without the lock: a deploy it saw
		// in flight may have ended since. What to recover is read again
		// now that the lock is held, as a deploy does before it starts.
		n, err := e.recoverOpen(ctx, l, p.Workload)
		rep.Recovered += n
		return err
	}
	if len(p.Drifted)+len(p.Adopt) > 0 {
		if err := e.Coord.Commit(ctx, l, Writes{Refresh: p.Drifted, Instances: p.Adopt}); err != nil {
			return err
		}
		rep.Changed += len(p.Drifted)
		rep.Adopted += len(p.Adopt)
		for _, in := range slices.Concat(p.Drifted, p.Adopt) {
			log.Info().Str(logkey.Container, in.Name).Str("state", in.State).Str("address", in.Address).Msg("instance recorded from Docker")
		}
	}
	if len(p.Reroute) > 0 {
		if err := e.reroute(ctx, l, p.Reroute, log, "container address changed"); err != nil {
			return err
		}
		rep.Rerouted += len(p.Reroute)
	}
	if len(p.Orphaned) == 0 && !p.NeedRoutes {
		return nil
	}
	target, ok := e.pickServing(ctx, p.Containers, p.Routes, w)
	if !ok {
		log.Warn().Msg("routes need a container but none is running and healthy")
		return nil
	}
	target = e.withPorts(ctx, target)
	var next []Route
	if p.NeedRoutes && w != nil {
		inst := InstanceFromContainer(target, e.Network)
		inst.HostPorts = target.HostPorts
		domain := cmp.Or(w.Settings.Domain, e.Domain)
		refused, err := e.refusedFaces(ctx, w, domain)
		if err != nil {
			return err
		}
		next = withoutRefused(RoutesFor(w, inst, domain, e.UpstreamByName, e.PublishHost), refused)
	}
	next = append(next, retargetAll(p.Orphaned, target, e.Network, e.UpstreamByName, e.PublishHost)...)
	if len(next) == 0 {
		return nil
	}
	if err := e.reroute(ctx, l, next, log, "routes rebuilt on "+target.Name); err != nil {
		return err
	}
	rep.Rerouted += len(next)
	return nil
}

// reroute upserts routes at the proxy after a lease check, then records them.
func (e *Engine) reroute(ctx context.Context, l Lease, routes []Route, log zerolog.Logger, why string) error {
	if err := e.Coord.Commit(ctx, l, Writes{}); err != nil {
		return err
	}
	for _, r := range routes {
		if err := e.Proxy.Upsert(ctx, r); err != nil {
			return fmt.Errorf("upsert route %s: %w", r.ID, err)
		}
		log.Info().Str(logkey.Route, r.ID).Str(logkey.Upstream, r.Upstream).Str("why", why).Msg("route re-pointed")
	}
	return e.Coord.Commit(ctx, l, Writes{Routes: routes})
}

// pickServing chooses the container routes should point at when the
// store no longer says (a routed container is gone, or the routes were
// lost): the one Serving picks among the containers that answer the
// workload's health path, probed in Serving's order until one answers.
func (e *Engine) pickServing(ctx context.Context, cs []Container, routes []Route, w *labels.Workload) (Container, bool) {
	candidates := slices.Clone(cs)
	for {
		c, ok := Serving(candidates, routes)
		if !ok || e.answers(ctx, c, w) {
			return c, ok
		}
		candidates = slices.DeleteFunc(candidates, func(x Container) bool { return x.ID == c.ID })
	}
}

// answers reports whether c passes w's health check within 2 s: its
// probe answers, or (healthcheck docker) Docker reports it healthy; a
// workload without one (or unknown) has nothing to check.
func (e *Engine) answers(ctx context.Context, c Container, w *labels.Workload) bool {
	switch {
	case w == nil || w.HealthKind() == labels.HealthNone:
		return true
	case w.HealthKind() == labels.HealthDocker:
		in, err := e.Docker.Inspect(ctx, c.ID)
		return err == nil && in.Health == "healthy"
	}
	addr := c.IPs[cmp.Or(c.Labels[labels.ManagedNetwork], e.Network)]
	if addr == "" {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return e.Health.WaitHealthy(pctx, workloadProbe(w, addr)) == nil
}
