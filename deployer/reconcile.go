package deployer

import (
	"cmp"
	"context"
	"fmt"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// Reconcile makes recorded instance state equal to Docker's, from one
// container list per call whatever the number of containers: states and
// addresses are refreshed and instances whose container is gone become
// missing. It returns that snapshot, so the caller can decide more from it
// (orphaned workloads) without asking Docker again.
func (e *Engine) Reconcile(ctx context.Context) ([]Container, error) {
	containers, err := e.Containers(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("reconcile: list managed containers: %w", err)
	}
	instances, err := e.Store.Instances(ctx, "")
	if err != nil {
		return containers, fmt.Errorf("reconcile: read instances: %w", err)
	}
	for _, in := range Drift(instances, containers, e.Network) {
		if err := e.Store.PutInstance(ctx, in); err != nil {
			return containers, fmt.Errorf("reconcile: %w", err)
		}
		e.Log.Info().Str(logkey.Workload, in.Workload).Str(logkey.Container, in.Name).
			Str("state", in.State).Msg("instance state changed")
	}
	return containers, nil
}

// Drift compares recorded instances with Docker's containers and returns
// the instances whose record must change, already updated. An instance's
// address is read on its own network, network when it has none recorded.
func Drift(instances []Instance, containers []Container, network string) []Instance {
	byID := make(map[string]Container, len(containers))
	for _, c := range containers {
		byID[c.ID] = c
	}
	var changed []Instance
	for _, in := range instances {
		next := in
		if c, ok := byID[in.ID]; ok {
			next.State = instanceState(c)
			if ip := c.IPs[cmp.Or(in.Network, network)]; ip != "" {
				next.Address = ip
			}
		} else {
			next.State = StateMissing
		}
		if next.State != in.State || next.Address != in.Address {
			changed = append(changed, next)
		}
	}
	return changed
}

// instanceState maps Docker's container state to a recorded one.
func instanceState(c Container) string {
	switch {
	case c.Running:
		return StateRunning
	case c.State == "created":
		return StateCreated
	case c.State == "":
		return StateExited
	default:
		return c.State // exited, dead, paused, restarting, removing
	}
}
