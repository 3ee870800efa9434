package deployer

import (
	"cmp"
	"context"
	"maps"

	"github.com/tinyforge/tinyforge/labels"
)

// converge handles a deploy of what already runs in container c: no new
// container, but the faces may have changed since c was routed (or the
// routes were lost), so the routes are switched to c when they differ
// from what the faces ask for, once c answers its health path: c may be
// serving through no route yet. Only a re-route is recorded; a pure no-op
// records nothing.
func (d *deploy) converge(ctx context.Context, c Container) (Result, error) {
	res := Result{Deploy: d.id, Noop: true, Container: c.ID, Image: d.ref, Digest: c.Labels[labels.ManagedDigest]}
	inst, err := d.instanceOf(ctx, c)
	if err != nil {
		return res, err
	}
	have, err := d.Store.Routes(ctx, d.w.Name)
	if err != nil {
		return res, err
	}
	if sameRoutes(d.routesFor(inst), have) {
		return res, nil
	}
	d.inst = inst
	d.j.Container, d.j.Name = inst.ID, inst.Name
	if err = d.waitHealthy(ctx, inst); err == nil {
		err = d.switchRoutes(ctx)
	}
	res.Rerouted = err == nil
	d.record(ctx, "rerouted", res, err)
	return res, err
}

// instanceOf returns the recorded instance of c with its current address,
// rebuilt from c's labels when the store does not know it.
func (d *deploy) instanceOf(ctx context.Context, c Container) (Instance, error) {
	recorded, err := d.Store.Instances(ctx, d.w.Name)
	if err != nil {
		return Instance{}, err
	}
	for _, in := range recorded {
		if in.ID == c.ID {
			in.Address = cmp.Or(c.IPs[cmp.Or(in.Network, d.network)], in.Address)
			return in, nil
		}
	}
	return InstanceFromContainer(c, d.network), nil
}

// InstanceFromContainer rebuilds an instance record from a managed
// container's labels, for state Redis does not have.
func InstanceFromContainer(c Container, defaultNetwork string) Instance {
	network := cmp.Or(c.Labels[labels.ManagedNetwork], defaultNetwork)
	return Instance{
		ID:       c.ID,
		Name:     c.Name,
		Workload: c.Labels[labels.ManagedWorkload],
		Image:    c.Labels[labels.ManagedImage],
		Tag:      c.Labels[labels.ManagedTag],
		Digest:   c.Labels[labels.ManagedDigest],
		Deploy:   c.Labels[labels.ManagedDeploy],
		State:    instanceState(c),
		Network:  network,
		Address:  c.IPs[network],
		Created:  c.Created.UTC(),
	}
}

// sameRoutes reports whether the recorded routes are exactly the wanted ones.
func sameRoutes(want, have []Route) bool {
	index := func(rs []Route) map[string]Route {
		m := make(map[string]Route, len(rs))
		for _, r := range rs {
			m[r.ID] = r
		}
		return m
	}
	return maps.Equal(index(want), index(have))
}
