package deployer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// routesFor computes the routes of every enabled face of the workload
// whose host it owns, pointing at inst, in face-name order.
func (d *deploy) routesFor(inst Instance) []Route {
	return withoutRefused(RoutesFor(d.w, inst, d.domain, d.UpstreamByName, d.PublishHost), d.refused)
}

// RoutesFor computes the routes of every enabled face of w pointing at
// inst, in face-name order: by address, or by name when byName or the
// address is unknown, or at publishHost and inst's published host port
// when publishHost is set (a proxy on another machine).
func RoutesFor(w *labels.Workload, inst Instance, domain string, byName bool, publishHost string) []Route {
	names := make([]string, 0, len(w.Faces))
	for name, f := range w.Faces {
		if f.Enabled() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	host := inst.Address
	if byName || host == "" {
		host = inst.Name
	}
	routes := make([]Route, 0, len(names))
	for _, name := range names {
		f := w.Faces[name]
		port := f.Port(w)
		upstream := net.JoinHostPort(host, strconv.Itoa(port))
		if publishHost != "" {
			upstream = net.JoinHostPort(publishHost, strconv.Itoa(inst.HostPorts[port]))
		}
		r := Route{
			ID:        RouteID(w.Name, name),
			Workload:  w.Name,
			Face:      name,
			Host:      f.Host(domain),
			Upstream:  upstream,
			Container: inst.ID,
			Port:      port,
		}
		faceOptions(&r, f)
		routes = append(routes, r)
	}
	return routes
}

// switchRoutes points every enabled face at the new container, fenced:
// the journal (with the routes before and after) is committed under the
// lease before the proxy is touched, and the routes are recorded under the
// lease after. If one face fails, the faces already switched go back to
// what they were, so a failed deploy leaves the proxy as it found it; if
// the lease was superseded meanwhile, the proxy is set back to what the
// store holds (the newer lease holder's routes). Routes of faces the
// workload no longer has are deleted once the switch succeeded.
func (d *deploy) switchRoutes(ctx context.Context) error {
	previous, err := d.Store.Routes(ctx, d.w.Name)
	if err != nil {
		return fmt.Errorf("read routes of %s: %w", d.w.Name, err)
	}
	if previous, err = d.migrateRoutes(ctx, d.lease, previous, d.log); err != nil {
		return err
	}
	before := make(map[string]Route, len(previous))
	for _, r := range previous {
		before[r.ID] = r
	}
	routes := d.routesFor(d.inst)
	d.ensureNames(ctx, routes)
	d.j.Previous, d.j.Routes = previous, routes
	if err := d.step(ctx, StepSwitching, Writes{}); err != nil {
		return err
	}

	d.proxyDirty = true
	for i, r := range routes {
		if err := d.Proxy.Upsert(ctx, r); err != nil {
			if d.restoreRoutes(ctx, routes[:i], before) {
				d.proxyDirty = false
			}
			return fmt.Errorf("switch route %s (%s): %w", r.ID, r.Host, err)
		}
		d.log.Debug().Str(logkey.Route, r.ID).Str(logkey.Host, r.Host).Str(logkey.Upstream, r.Upstream).Msg("route switched")
	}
	if err := d.verify(ctx, routes); err != nil {
		if d.restoreRoutes(ctx, routes, before) {
			d.proxyDirty = false
		}
		return err
	}

	d.inst.Routes = make(map[string]string, len(routes))
	current := make(map[string]bool, len(routes))
	for _, r := range routes {
		d.inst.Routes[r.Host] = r.ID
		current[r.ID] = true
	}
	var stale []Route
	for _, r := range previous {
		if !current[r.ID] {
			stale = append(stale, r)
		}
	}
	w := Writes{Routes: routes, DeleteRoutes: stale, Instances: []Instance{d.inst}}
	if err := d.step(ctx, StepSwitched, w); err != nil {
		// The switch is not recorded, so the proxy must not keep it.
		if errors.Is(err, ErrFenced) {
			d.proxyDirty = !d.reassert(ctx, routes)
		} else if d.restoreRoutes(ctx, routes, before) {
			d.proxyDirty = false
		}
		return err
	}
	d.routed, d.proxyDirty = true, false
	for _, r := range stale {
		if err := d.Proxy.Delete(ctx, r); err != nil {
			d.log.Error().Err(err).Str(logkey.Route, r.ID).Msg("delete stale route")
		}
	}
	d.dropNames(ctx, previous, routes)
	d.releaseHosts(ctx, d.w.Name, routes)
	return nil
}

// restoreRoutes puts back what the given routes replaced: the previous
// route when there was one, nothing otherwise. It reports whether every
// restore succeeded.
func (d *deploy) restoreRoutes(ctx context.Context, switched []Route, before map[string]Route) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	ok := true
	for _, r := range switched {
		var err error
		if prev, found := before[r.ID]; found {
			err = d.Proxy.Upsert(ctx, prev)
		} else {
			err = d.Proxy.Delete(ctx, r)
		}
		if err != nil {
			ok = false
			d.log.Error().Err(err).Str(logkey.Route, r.ID).Msg("restore route")
		}
	}
	return ok
}

// reassert makes the proxy follow the store again after a fenced switch:
// the store's routes are the newest lease holder's, so they win over the
// ones this deploy wrote (mine). It reports whether the proxy now agrees.
func (d *deploy) reassert(ctx context.Context, mine []Route) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	stored, err := d.Store.Routes(ctx, d.w.Name)
	if err != nil {
		d.log.Error().Err(err).Msg("read routes to re-assert after a fenced switch")
		return false
	}
	d.log.Warn().Msg("lease superseded during the switch: re-asserting the stored routes")
	ok := true
	have := map[string]bool{}
	for _, r := range stored {
		have[r.ID] = true
		if err := d.Proxy.Upsert(ctx, r); err != nil {
			ok = false
			d.log.Error().Err(err).Str(logkey.Route, r.ID).Msg("re-assert route")
		}
	}
	for _, r := range mine {
		if have[r.ID] {
			continue
		}
		if err := d.Proxy.Delete(ctx, r); err != nil {
			ok = false
			d.log.Error().Err(err).Str(logkey.Route, r.ID).Msg("delete route of a fenced switch")
		}
	}
	return ok
}
