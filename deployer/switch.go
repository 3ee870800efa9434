package deployer

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// routesFor computes the routes of every enabled face of the workload,
// pointing at inst, in face-name order.
func (d *deploy) routesFor(inst Instance) []Route {
	names := make([]string, 0, len(d.w.Faces))
	for name, f := range d.w.Faces {
		if f.Enabled() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	host := inst.Address
	if d.UpstreamByName || host == "" {
		host = inst.Name
	}
	routes := make([]Route, 0, len(names))
	for _, name := range names {
		f := d.w.Faces[name]
		port := f.Port(d.w)
		upstream := net.JoinHostPort(host, strconv.Itoa(port))
		if d.PublishHost != "" {
			upstream = net.JoinHostPort(d.PublishHost, strconv.Itoa(inst.HostPorts[port]))
		}
		r := Route{
			ID:        RouteID(d.w.Name, name),
			Workload:  d.w.Name,
			Face:      name,
			Host:      f.Host(d.domain),
			Upstream:  upstream,
			Container: inst.ID,
			Port:      port,
		}
		faceOptions(&r, f)
		routes = append(routes, r)
	}
	return routes
}

// switchRoutes points every enabled face at the new container. If one
// face fails, the faces already switched go back to what they were, so a
// failed deploy leaves the proxy as it found it. Routes of faces the
// workload no longer has are deleted once the switch succeeded.
func (d *deploy) switchRoutes(ctx context.Context, inst *Instance) error {
	previous, err := d.Store.Routes(ctx, d.w.Name)
	if err != nil {
		return fmt.Errorf("read routes of %s: %w", d.w.Name, err)
	}
	before := make(map[string]Route, len(previous))
	for _, r := range previous {
		before[r.ID] = r
	}

	routes := d.routesFor(*inst)
	for i, r := range routes {
		if err := d.Proxy.Upsert(ctx, r); err != nil {
			d.restoreRoutes(ctx, routes[:i], before)
			return fmt.Errorf("switch route %s (%s): %w", r.ID, r.Host, err)
		}
		d.log.Debug().Str(logkey.Route, r.ID).Str(logkey.Host, r.Host).Str(logkey.Upstream, r.Upstream).Msg("route switched")
	}
	if err := d.verify(ctx, routes); err != nil {
		d.restoreRoutes(ctx, routes, before)
		return err
	}

	inst.Routes = make(map[string]string, len(routes))
	current := make(map[string]bool, len(routes))
	for _, r := range routes {
		inst.Routes[r.Host] = r.ID
		current[r.ID] = true
		if err := d.Store.PutRoute(ctx, r); err != nil {
			d.log.Error().Err(err).Str(logkey.Route, r.ID).Msg("record route")
		}
	}
	if err := d.Store.PutInstance(ctx, *inst); err != nil {
		d.log.Error().Err(err).Msg("record routes on instance")
	}
	for _, r := range previous {
		if current[r.ID] {
			continue
		}
		if err := d.Proxy.Delete(ctx, r); err != nil {
			d.log.Error().Err(err).Str(logkey.Route, r.ID).Msg("delete stale route")
			continue
		}
		_ = d.Store.DeleteRoute(ctx, r.ID)
	}
	return nil
}

// restoreRoutes puts back what the given routes replaced: the previous
// route when there was one, nothing otherwise.
func (d *deploy) restoreRoutes(ctx context.Context, switched []Route, before map[string]Route) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, r := range switched {
		var err error
		if prev, ok := before[r.ID]; ok {
			err = d.Proxy.Upsert(ctx, prev)
		} else {
			err = d.Proxy.Delete(ctx, r)
		}
		if err != nil {
			d.log.Error().Err(err).Str(logkey.Route, r.ID).Msg("restore route")
		}
	}
}

// removeSurplus keeps the workload's newest containers (the new one
// first) and drains, stops and removes the rest. The deploy has already
// succeeded: failures here are logged, never rolled back.
func (d *deploy) removeSurplus(ctx context.Context, newID string) []string {
	ctx = context.WithoutCancel(ctx)
	all, err := d.Containers(ctx, d.w.Name)
	if err != nil {
		d.log.Error().Err(err).Msg("list containers for surplus removal")
		return nil
	}
	surplus := Surplus(all, newID, d.w.Instances())
	if len(surplus) == 0 {
		return nil
	}
	if d.Drain > 0 {
		time.Sleep(d.Drain)
	}
	var removed []string
	for _, c := range surplus {
		if c.Running {
			if err := d.Docker.Stop(ctx, c.ID, d.StopGrace); err != nil {
				d.log.Warn().Err(err).Str(logkey.Container, c.Name).Msg("stop surplus container")
			}
		}
		if err := d.Docker.Remove(ctx, c.ID); err != nil {
			d.log.Error().Err(err).Str(logkey.Container, c.Name).Msg("remove surplus container")
			continue
		}
		if err := d.Store.DeleteInstance(ctx, c.ID); err != nil {
			d.log.Error().Err(err).Str(logkey.Container, c.Name).Msg("delete record of surplus container")
		}
		removed = append(removed, c.Name)
	}
	return removed
}
