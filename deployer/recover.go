package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// Recovery actions for a deploy whose sidecar stopped before it ended.
const (
	// RecoverUndo: the deploy never touched routes; its containers go.
	RecoverUndo = "undo"
	// RecoverForward: routes were (being) switched to a running new
	// container; finish the switch and remove the surplus.
	RecoverForward = "forward"
	// RecoverBack: routes were switched but the new container is not
	// running; routes go back to the previous container, which is.
	RecoverBack = "back"
	// RecoverObsolete: routes moved on to a later deploy since; only the
	// deploy's unrouted container goes.
	RecoverObsolete = "obsolete"
	// RecoverStuck: neither the new nor the previous container runs;
	// routes stay where they are and the journal is closed.
	RecoverStuck = "stuck"
)

// PlanRecovery decides what to do with an unfinished deploy j from the
// workload's containers and stored routes. It is pure: see Recover for
// the Docker and proxy calls that carry the decision out.
func PlanRecovery(j Journal, containers []Container, routes []Route) string {
	if beforeSwitch(j.Step) {
		return RecoverUndo
	}
	newC, newFound := deployContainer(j, containers)
	prevID := j.previousContainer()
	routedNew, routedOther := false, false
	for _, r := range routes {
		switch {
		case r.Container != "" && (r.Container == newC.ID || r.Container == j.Container):
			routedNew = true
		case r.Container == prevID:
		default:
			routedOther = true
		}
	}
	if routedOther && !routedNew {
		return RecoverObsolete
	}
	if newFound && newC.Running {
		return RecoverForward
	}
	if prev, ok := containerByID(containers, prevID); ok && prev.Running {
		return RecoverBack
	}
	return RecoverStuck
}

// deployContainer finds the container deploy j created, by journaled id or
// by its deploy label (a crash between create and journal leaves only the
// label).
func deployContainer(j Journal, containers []Container) (Container, bool) {
	for _, c := range containers {
		if (j.Container != "" && c.ID == j.Container) || c.Labels[labels.ManagedDeploy] == j.ID {
			return c, true
		}
	}
	return Container{}, false
}

func containerByID(cs []Container, id string) (Container, bool) {
	if id == "" {
		return Container{}, false
	}
	for _, c := range cs {
		if c.ID == id {
			return c, true
		}
	}
	return Container{}, false
}

// recoverJournal carries out PlanRecovery for j under lease l (held for
// j's workload), closes the journal and records the outcome in history.
// containers and routes are the workload's, read under l.
func (e *Engine) recoverJournal(ctx context.Context, l Lease, j Journal, containers []Container, routes []Route) error {
	action := PlanRecovery(j, containers, routes)
	log := e.Log.With().Str(logkey.Workload, j.Workload).Str(logkey.Deploy, j.ID).
		Str(logkey.Step, j.Step).Str("action", action).Logger()
	log.Warn().Msg("recovering a deploy that did not finish")
	ev := Event{
		Deploy: j.ID, Image: j.Image, Tag: j.Tag, Digest: j.Digest, Source: j.Source,
		Started: j.Started, Epoch: j.Epoch, Owner: j.Owner, Container: j.Name,
		Previous: j.previousContainer(), Steps: j.Steps,
		Note: fmt.Sprintf("recovered by %s (epoch %d): the deploy stopped after step %q", e.Owner, l.Epoch, j.Step),
	}
	released, err := e.removeReleases(ctx, l, j)
	if err != nil {
		return fmt.Errorf("recover deploy %s of %s: %w", j.ID, j.Workload, err)
	}
	newC, _ := deployContainer(j, containers)
	switch action {
	case RecoverUndo:
		err = e.removeDeployContainers(ctx, l, j, containers, routes, log)
		ev.Outcome = OutcomeRolledBack + "interrupted before the switch (after " + j.Step + "); new container removed"
		if released > 0 {
			ev.Outcome += ", release command's container removed"
		}
	case RecoverObsolete:
		err = e.removeDeployContainers(ctx, l, j, containers, routes, log)
		ev.Outcome = OutcomeFailed + "interrupted after the switch and superseded by a later deploy"
	case RecoverForward:
		if err = e.recoverForward(ctx, l, j, newC, log); err == nil {
			ev.Outcome, ev.Tasks = OutcomeDeployed, newC.Tasks
		}
	case RecoverBack:
		prev, _ := containerByID(containers, j.previousContainer())
		if err = e.recoverBack(ctx, l, j, prev, containers, routes, log); err == nil {
			ev.Outcome = OutcomeRolledBack + "new container " + orNone(newC.State) + " when the deploy was recovered; routes back on the previous container"
		}
	case RecoverStuck:
		ev.Outcome = OutcomeFailed + "interrupted after the switch; neither the new nor the previous container is running"
	}
	if err != nil {
		return fmt.Errorf("recover deploy %s of %s (%s): %w", j.ID, j.Workload, action, err)
	}
	if err := e.Coord.Commit(ctx, l, Writes{CloseJournal: j.ID}); err != nil {
		return fmt.Errorf("close journal %s: %w", j.ID, err)
	}
	ev.Time = e.Now().UTC()
	ev.Took = ev.Time.Sub(j.Started)
	ev.Steps = append(slices.Clone(ev.Steps), StepTime{Step: "recovered:" + action, At: ev.Time})
	if err := e.Store.AppendEvent(ctx, j.Workload, ev); err != nil {
		log.Error().Err(err).Msg("record recovered deploy")
	}
	e.finished(j.Workload, ev)
	log.Info().Str(logkey.Outcome, ev.Outcome).Msg("deploy recovered")
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "gone"
	}
	return s
}

// removeDeployContainers removes the containers deploy j created, unless
// routes point at them, and forgets their records.
func (e *Engine) removeDeployContainers(ctx context.Context, l Lease, j Journal, containers []Container, routes []Route, log zerolog.Logger) error {
	routed := map[string]bool{}
	for _, r := range routes {
		routed[r.Container] = true
	}
	var gone []Instance
	for _, c := range containers {
		if c.ID != j.Container && c.Labels[labels.ManagedDeploy] != j.ID {
			continue
		}
		if routed[c.ID] {
			log.Warn().Str(logkey.Container, c.Name).Msg("container of the interrupted deploy is routed: kept")
			continue
		}
		if err := e.Coord.Commit(ctx, l, Writes{}); err != nil {
			return err
		}
		if err := e.Docker.Remove(ctx, c.ID); err != nil {
			return err
		}
		gone = append(gone, Instance{ID: c.ID, Workload: j.Workload})
	}
	if j.Container != "" && !slices.ContainsFunc(gone, func(in Instance) bool { return in.ID == j.Container }) && !routed[j.Container] {
		gone = append(gone, Instance{ID: j.Container, Workload: j.Workload}) // already gone from Docker
	}
	if len(gone) == 0 {
		return nil
	}
	return e.Coord.Commit(ctx, l, Writes{DeleteInstances: gone})
}

// recoverForward re-asserts the journaled routes on the new container
// (its address may have changed) and removes the surplus.
func (e *Engine) recoverForward(ctx context.Context, l Lease, j Journal, newC Container, log zerolog.Logger) error {
	newC = e.withPorts(ctx, newC)
	routes := retargetAll(j.Routes, newC, e.Network, e.UpstreamByName, e.PublishHost)
	if err := e.Coord.Commit(ctx, l, Writes{}); err != nil {
		return err
	}
	for _, r := range routes {
		if err := e.Proxy.Upsert(ctx, r); err != nil {
			return fmt.Errorf("upsert route %s: %w", r.ID, err)
		}
	}
	inst := InstanceFromContainer(newC, e.Network)
	inst.Routes = map[string]string{}
	for _, r := range routes {
		inst.Routes[r.Host] = r.ID
	}
	stale := missingRoutes(j.Previous, routes)
	if err := e.Coord.Commit(ctx, l, Writes{Routes: routes, DeleteRoutes: stale, Instances: []Instance{inst}}); err != nil {
		return err
	}
	for _, r := range stale {
		if err := e.Proxy.Delete(ctx, r); err != nil {
			log.Error().Err(err).Str(logkey.Route, r.ID).Msg("delete stale route")
		}
	}
	if j.Step == StepSwitching && e.Drain > 0 {
		// The proxy may only now have moved: let requests on the old drain.
		_ = sleep(ctx, e.Drain)
	}
	_, err := e.removeSurplus(ctx, l, j.Workload, newC.ID, max(j.Keep, 1), log)
	return err
}

// recoverBack puts the routes back on the previous container and removes
// the deploy's new one.
func (e *Engine) recoverBack(ctx context.Context, l Lease, j Journal, prev Container, containers []Container, routes []Route, log zerolog.Logger) error {
	prev = e.withPorts(ctx, prev)
	back := retargetAll(j.Previous, prev, e.Network, e.UpstreamByName, e.PublishHost)
	if err := e.Coord.Commit(ctx, l, Writes{}); err != nil {
		return err
	}
	for _, r := range back {
		if err := e.Proxy.Upsert(ctx, r); err != nil {
			return fmt.Errorf("upsert route %s: %w", r.ID, err)
		}
	}
	stale := missingRoutes(j.Routes, back)
	if err := e.Coord.Commit(ctx, l, Writes{Routes: back, DeleteRoutes: stale}); err != nil {
		return err
	}
	for _, r := range stale {
		if err := e.Proxy.Delete(ctx, r); err != nil {
			log.Error().Err(err).Str(logkey.Route, r.ID).Msg("delete route of the undone switch")
		}
	}
	return e.removeDeployContainers(ctx, l, j, containers, back, log)
}

// missingRoutes returns the routes of from whose ids are not in to.
func missingRoutes(from, to []Route) []Route {
	var out []Route
	for _, r := range from {
		if !slices.ContainsFunc(to, func(t Route) bool { return t.ID == r.ID }) {
			out = append(out, r)
		}
	}
	return out
}

// retargetAll points routes at c, keeping each route's port.
func retargetAll(routes []Route, c Container, network string, byName bool, publishHost string) []Route {
	out := make([]Route, 0, len(routes))
	for _, r := range routes {
		out = append(out, retarget(r, c, network, byName, publishHost))
	}
	return out
}

// retarget points r at c's current address (or name), keeping its port.
// The address is read on c's own network (its label), network otherwise.
// With publishHost (a proxy on another machine) the route dials
// publishHost at c's published host port, when c's ports are known.
func retarget(r Route, c Container, network string, byName bool, publishHost string) Route {
	if publishHost != "" {
		if hp := c.HostPorts[r.Port]; hp != 0 {
			r.Upstream = net.JoinHostPort(publishHost, strconv.Itoa(hp))
		}
		r.Container = c.ID
		return r
	}
	host := c.IPs[cmp.Or(c.Labels[labels.ManagedNetwork], network)]
	if byName || host == "" {
		host = c.Name
	}
	_, port, err := net.SplitHostPort(r.Upstream)
	if err != nil {
		port = ""
	}
	r.Upstream = net.JoinHostPort(host, port)
	r.Container = c.ID
	return r
}

// withPorts fills c's published host ports from an inspect when routes
// dial published ports (a list does not carry them); otherwise, or when
// the inspect fails, c is returned as is.
func (e *Engine) withPorts(ctx context.Context, c Container) Container {
	if e.PublishHost == "" || len(c.HostPorts) > 0 {
		return c
	}
	if in, err := e.Docker.Inspect(ctx, c.ID); err == nil {
		c.HostPorts = in.HostPorts
	}
	return c
}

// recoverOpen finishes or undoes the unfinished deploys of workload under
// lease l, so a deploy that takes the lock after a crash starts from a
// settled state instead of building on a half-done one. Drains of earlier
// deploys are no such thing: they run in the background (adopted when no
// one here works on them) and never hold up the deploy. It reads the
// journals, containers and routes under the lease (a snapshot taken
// without it may show a deploy that has ended since), costs one journal
// read, and Docker calls only when there is something to recover. It
// returns how many deploys it recovered.
func (e *Engine) recoverOpen(ctx context.Context, l Lease, workload string) (int, error) {
	js, err := e.Coord.Journals(ctx)
	if err != nil {
		return 0, err
	}
	var drains []Journal
	recovered := 0
	for _, j := range js {
		if j.Workload != workload {
			continue
		}
		if j.Step == StepWatched { // a drain, not an interrupted deploy
			drains = append(drains, j)
			continue
		}
		cs, err := e.Containers(ctx, workload)
		if err != nil {
			return recovered, err
		}
		routes, err := e.Store.Routes(ctx, workload)
		if err != nil {
			return recovered, err
		}
		if err := e.recoverJournal(ctx, l, j, cs, routes); err != nil {
			return recovered, err
		}
		recovered++
	}
	e.adopt(drains)
	return recovered, nil
}

// errSkipped marks a workload whose lock was busy during a pass.
var errSkipped = errors.New("workload lock busy")

// withLease runs fn under a fresh lease of workload if its lock is free.
func (e *Engine) withLease(ctx context.Context, workload string, fn func(context.Context, Lease) error) error {
	l, ok, err := e.Coord.TryLock(ctx, workload, e.Owner, e.LockTTL)
	if err != nil {
		return err
	}
	if !ok {
		return errSkipped
	}
	lctx, release := e.keepLease(ctx, l)
	defer release()
	return fn(lctx, l)
}
