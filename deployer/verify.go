package deployer

import (
	"context"
	"fmt"
	"slices"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// verify waits until the proxy confirms every route serves the new
// container, when the plugin is a Verifier, bounded by VerifyTimeout. It
// records how long the routes took to serve since the health check passed.
func (d *deploy) verify(ctx context.Context, routes []Route) error {
	v, ok := d.Proxy.(Verifier)
	if ok && len(routes) > 0 {
		vctx, cancel := context.WithTimeout(ctx, d.VerifyTimeout)
		defer cancel()
		for _, r := range routes {
			if err := v.Verify(vctx, r); err != nil {
				return fmt.Errorf("verify route %s (%s -> %s) within %s: %w", r.ID, r.Host, r.Upstream, d.VerifyTimeout, err)
			}
		}
	}
	if !d.healthy.IsZero() {
		d.switched = d.Now().Sub(d.healthy)
	}
	d.log.Debug().Bool("verified", ok).Int("routes", len(routes)).Dur(logkey.Switched, d.switched).Msg("routes serve the new container")
	return nil
}

// proxySpec adds what the proxy needs to a new container: its labels for
// a ContainerLabeler (the deployer's own labels win), and the published
// face ports when routes dial the Docker host.
func (d *deploy) proxySpec(spec *ContainerSpec, inst Instance) {
	if l, ok := d.Proxy.(ContainerLabeler); ok {
		spec.Labels = withLabels(l.ContainerLabels(d.routesFor(inst)), spec.Labels)
	}
	if d.PublishHost != "" {
		spec.Publish = d.facePorts()
		spec.PublishIP = d.PublishBind
	}
}

// facePorts are the distinct container ports of the enabled faces, sorted.
func (d *deploy) facePorts() []int {
	var ports []int
	for _, f := range d.w.Faces {
		if f.Enabled() && !slices.Contains(ports, f.Port(d.w)) {
			ports = append(ports, f.Port(d.w))
		}
	}
	slices.Sort(ports)
	return ports
}

// publishedPorts records the host ports Docker gave the published ports;
// a port Docker did not publish is an error, since a route could not
// reach it.
func (d *deploy) publishedPorts(inst *Instance, spec ContainerSpec, c Container) error {
	if len(spec.Publish) == 0 {
		return nil
	}
	inst.HostPorts = make(map[int]int, len(spec.Publish))
	for _, p := range spec.Publish {
		hp := c.HostPorts[p]
		if hp == 0 {
			return fmt.Errorf("publish %s: container port %d has no host port", inst.Name, p)
		}
		inst.HostPorts[p] = hp
	}
	return nil
}
