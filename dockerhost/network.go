package dockerhost

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/tinyforge/tinyforge/labels"
)

// EnsureNetwork creates the bridge network name unless a network of that
// name exists.
//
// The engine does not make creation by name atomic: concurrent creates of
// one name (measured on 20.10, even with CheckDuplicate) all succeed and
// leave several networks of that name, after which the name is ambiguous
// for every call that uses it. So calls are serialised within the process,
// and every call that finds duplicates keeps the oldest and removes the
// others that tinyforge created and no container uses. Creators in other
// processes racing with this one may leave a duplicate until the next call.
func (h *Host) EnsureNetwork(ctx context.Context, name string) error {
	h.netMu.Lock()
	defer h.netMu.Unlock()

	nets, err := h.networksNamed(ctx, name)
	if err != nil {
		return fmt.Errorf("ensure network %s: %w", name, err)
	}
	if len(nets) == 0 {
		lbls := map[string]string{labels.Managed: "true"}
		maps.Copy(lbls, h.NetworkLabels)
		_, err := h.engine.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: lbls})
		if err != nil && !cerrdefs.IsConflict(err) {
			return fmt.Errorf("create network %s: %w", name, err)
		}
		if nets, err = h.networksNamed(ctx, name); err != nil {
			return fmt.Errorf("create network %s: %w", name, err)
		}
	}
	if len(nets) > 1 {
		return h.removeDuplicates(ctx, name, nets)
	}
	return nil
}

// removeDuplicates keeps nets[0], the oldest, and removes the others that
// tinyforge made and no container uses.
func (h *Host) removeDuplicates(ctx context.Context, name string, nets []network.Summary) error {
	left := 1
	for _, n := range nets[1:] {
		if !h.removeUnused(ctx, n) {
			left++
		}
	}
	if left > 1 {
		return fmt.Errorf("network %s: %d networks share this name (extras in use or not created by tinyforge); remove the extras", name, left)
	}
	return nil
}

// removeUnused removes n if tinyforge created it and no container is
// attached, and reports whether n is gone.
func (h *Host) removeUnused(ctx context.Context, n network.Summary) bool {
	if n.Labels[labels.Managed] != "true" {
		return false
	}
	in, err := h.engine.NetworkInspect(ctx, n.ID, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return true
	}
	if err != nil || len(in.Containers) > 0 {
		return false
	}
	err = h.engine.NetworkRemove(ctx, n.ID)
	return err == nil || cerrdefs.IsNotFound(err)
}

// networksNamed lists the networks whose name is exactly name (the engine's
// name filter matches substrings), oldest first.
func (h *Host) networksNamed(ctx context.Context, name string) ([]network.Summary, error) {
	nets, err := h.engine.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return nil, err
	}
	nets = slices.DeleteFunc(nets, func(n network.Summary) bool { return n.Name != name })
	slices.SortFunc(nets, func(a, b network.Summary) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return nets, nil
}

// PruneNetworks removes the bridge networks tinyforge created (labelled
// managed, with match's labels, e.g. the sidecar's scope) that no
// container uses, except those named in keep and those created less than
// minAge ago (a deploy may have just ensured one and not yet attached its
// container). The engine itself refuses to remove a network a container is
// attached to, so a container attached meanwhile keeps it. It returns the
// names removed; a network that cannot be removed is left for the next
// call.
func (h *Host) PruneNetworks(ctx context.Context, match map[string]string, keep []string, minAge time.Duration, now time.Time) ([]string, error) {
	args := filters.NewArgs(filters.Arg("label", labels.Managed+"=true"), filters.Arg("driver", "bridge"))
	for k, v := range match {
		args.Add("label", k+"="+v)
	}
	nets, err := h.engine.NetworkList(ctx, network.ListOptions{Filters: args})
	if err != nil {
		return nil, fmt.Errorf("prune networks: %w", err)
	}
	h.netMu.Lock() // not while EnsureNetwork of this process runs
	defer h.netMu.Unlock()
	var removed []string
	for _, n := range nets {
		if slices.Contains(keep, n.Name) || now.Sub(n.Created) < minAge || n.Labels[labels.Managed] != "true" ||
			n.Labels[labels.Scope] != match[labels.Scope] { // without a scope, only unscoped networks
			continue
		}
		if h.removeUnused(ctx, n) {
			removed = append(removed, n.Name)
		}
	}
	return removed, nil
}
