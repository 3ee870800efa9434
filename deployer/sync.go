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
	Update  []Instance // records to write: drifted ones and adopted ones
	Adopted int        // how many of Update are adoptions
	Reroute []Route    // routes re-pointed at their container's current address
	// Orphaned are routes whose container is gone from Docker.
	Orphaned []Route
	// NeedRoutes: the workload is declared and has running containers but
	// no stored routes (the store lost them): rebuild them.
	NeedRoutes bool
}

func (p WorkloadPlan) empty() bool {
	return len(p.Recover)+len(p.Update)+len(p.Reroute)+len(p.Orphaned) == 0 && !p.NeedRoutes
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
	js := map[string][]Journal{}
	for _, j := range journals {
		names[j.Workload] = true
		js[j.Workload] = append(js[j.Workload], j)
	}

	var plans []WorkloadPlan
	for _, w := range slices.Sorted(maps.Keys(names)) {
		p := WorkloadPlan{Workload: w, Containers: cs[w], Routes: rs[w], Recover: js[w]}
		if len(p.Recover) > 0 {
			plans = append(plans, p)
			continue
		}
		p.Update = Drift(ins[w], cs[w], network)
		known := map[string]bool{}
		for _, in := range ins[w] {
			known[in.ID] = true
		}
		for _, c := range cs[w] {
			if !known[c.ID] {
				p.Update = append(p.Update, InstanceFromContainer(c, network))
				p.Adopted++
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
		if !p.empty() {
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
	containers, err := e.Containers(ctx, "")
	if err != nil {
		return rep, fmt.Errorf("reconcile: list managed containers: %w", err)
	}
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
	declared := map[string]bool{}
	for name, w := range workloads {
		declared[name] = w != nil && HasFaces(w)
	}
	var errs []error
	for _, p := range PlanSync(instances, routes, journals, containers, e.Network, e.UpstreamByName, e.PublishHost, declared) {
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
	return rep, errors.Join(errs...)
}

// apply carries out one workload's plan under lease l.
func (e *Engine) apply(ctx context.Context, l Lease, p WorkloadPlan, w *labels.Workload, rep *SyncReport) error {
	log := e.Log.With().Str(logkey.Workload, p.Workload).Int64("epoch", l.Epoch).Logger()
	if len(p.Recover) > 0 {
		for _, j := range p.Recover {
			if err := e.recoverJournal(ctx, l, j, p.Containers, p.Routes); err != nil {
				return err
			}
			rep.Recovered++
		}
		return nil
	}
	if len(p.Update) > 0 {
		if err := e.Coord.Commit(ctx, l, Writes{Instances: p.Update}); err != nil {
			return err
		}
		rep.Changed += len(p.Update) - p.Adopted
		rep.Adopted += p.Adopted
		for _, in := range p.Update {
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
		next = RoutesFor(w, inst, cmp.Or(w.Settings.Domain, e.Domain), e.UpstreamByName, e.PublishHost)
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

// answers reports whether c answers w's health path within 2 s; a
// workload without one (or unknown) has nothing to probe.
func (e *Engine) answers(ctx context.Context, c Container, w *labels.Workload) bool {
	if w == nil || w.Healthcheck == "" {
		return true
	}
	addr := c.IPs[cmp.Or(c.Labels[labels.ManagedNetwork], e.Network)]
	if addr == "" {
		return false
	}
	d := &deploy{Engine: e, w: w}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return e.Health.WaitHealthy(pctx, d.healthURL(addr)) == nil
}
