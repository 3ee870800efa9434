package swarmhost

import (
	"context"
	"fmt"
	"maps"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/tinyforge/tinyforge/labels"
)

// EnsureNetwork creates the attachable overlay network name unless it
// exists. Attachable, so that standalone containers (the edge proxy, the
// sidecar when it runs as a container) can join it and reach tasks by
// address. The manager keeps network names unique, so unlike bridge
// networks no duplicates can appear; a local network of that name is an
// error, since services cannot use it.
func (h *Host) EnsureNetwork(ctx context.Context, name string) error {
	n, ok, err := h.networkNamed(ctx, name)
	if err != nil {
		return fmt.Errorf("ensure network %s: %w", name, err)
	}
	if !ok {
		lbls := map[string]string{labels.Managed: "true"}
		maps.Copy(lbls, h.NetworkLabels)
		_, err := h.engine.NetworkCreate(ctx, name, network.CreateOptions{
			Driver: "overlay", Scope: "swarm", Attachable: true, Labels: lbls,
		})
		if err != nil && !cerrdefs.IsConflict(err) {
			return fmt.Errorf("create overlay network %s: %w", name, err)
		}
		if n, ok, err = h.networkNamed(ctx, name); err != nil || !ok {
			return fmt.Errorf("create overlay network %s: not listed afterwards (%v)", name, err)
		}
	}
	// The manager lists a swarm network without its driver until a task
	// on this node uses it: the scope is what tells it from a local one.
	if n.Scope != "swarm" || (n.Driver != "overlay" && n.Driver != "") {
		return fmt.Errorf("network %s has driver %q and scope %q: swarm services need an overlay network; rename or remove it", name, n.Driver, n.Scope)
	}
	return nil
}

// networkNamed finds the network whose name is exactly name (the engine's
// filter matches substrings).
func (h *Host) networkNamed(ctx context.Context, name string) (network.Summary, bool, error) {
	nets, err := h.engine.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return network.Summary{}, false, err
	}
	for _, n := range nets {
		if n.Name == name {
			return n, true, nil
		}
	}
	return network.Summary{}, false, nil
}
