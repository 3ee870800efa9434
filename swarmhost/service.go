package swarmhost

import (
	"context"
	"fmt"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"

	"github.com/tinyforge/tinyforge/deployer"
)

// Create creates the service of spec: its replicas, constraints and
// preferences over the Default placement (constraints add up). A service
// has no "created" state: its tasks are scheduled at once, and Start
// waits for them.
func (h *Host) Create(ctx context.Context, spec deployer.ContainerSpec) (string, error) {
	return h.CreateService(ctx, spec, specPlacement(h.Default, spec))
}

// specPlacement is def with what spec asks on top.
func specPlacement(def Placement, spec deployer.ContainerSpec) Placement {
	p := def
	if spec.Replicas > 0 {
		p.Replicas = uint64(spec.Replicas)
	}
	p.Constraints = append(slices.Clone(def.Constraints), spec.Constraints...)
	if len(spec.Preferences) > 0 {
		p.Preferences = spec.Preferences
	}
	return p
}

// CreateService creates the service of spec with placement p. The manager
// is not asked to resolve the image in a registry (QueryRegistry false):
// the image is pinned by Pull's digest when there is one, and nodes that
// already hold the image (loaded, or built there) need no registry at all.
func (h *Host) CreateService(ctx context.Context, spec deployer.ContainerSpec, p Placement) (string, error) {
	if spec.OneOff {
		return "", fmt.Errorf("create %s: %w", spec.Name, ErrNoOneOff)
	}
	s, err := serviceSpec(spec, p, h.BindRoots)
	if err != nil {
		return "", err
	}
	opts := swarm.ServiceCreateOptions{QueryRegistry: false}
	if opts.EncodedRegistryAuth, err = h.nodeAuth(ctx, spec.Image); err != nil {
		return "", fmt.Errorf("create service %s: credentials for %s: %w", spec.Name, spec.Image, err)
	}
	resp, err := h.engine.ServiceCreate(ctx, s, opts)
	if err != nil {
		return "", fmt.Errorf("create service %s from %s: %w", spec.Name, s.TaskTemplate.ContainerSpec.Image, err)
	}
	return resp.ID, nil
}

// nodeAuth encodes PullAuth's credentials for ref, "" when there are none.
func (h *Host) nodeAuth(ctx context.Context, ref string) (string, error) {
	if h.PullAuth == nil {
		return "", nil
	}
	creds, _ := h.creds.Load(repository(ref))
	name, _ := creds.(string)
	ac, ok, err := h.PullAuth(ctx, name, ref)
	if err != nil || !ok {
		return "", err
	}
	return registry.EncodeAuthConfig(ac)
}

// Start waits until every replica of the service runs. It fails as soon
// as a task fails or is rejected (naming the task, its node and the
// engine's error) or no node satisfies the placement, and when ctx ends.
func (h *Host) Start(ctx context.Context, id string) error {
	t := time.NewTicker(h.poll())
	defer t.Stop()
	for {
		svc, tasks, err := h.serviceTasks(ctx, id)
		if err != nil {
			return fmt.Errorf("start service %s: %w", id, err)
		}
		done, err := progress(replicas(svc), tasks)
		if err != nil {
			return fmt.Errorf("start service %s: %w", svc.Spec.Name, err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start service %s: %s: %w", svc.Spec.Name, describe(replicas(svc), tasks), context.Cause(ctx))
		case <-t.C:
		}
	}
}

// Stop scales the service to zero, giving each task grace to finish
// in-flight work (rounded to whole seconds), and waits until every task
// has reached a final state (its container stopped), for at most grace
// plus 30 s. A service already gone counts as
// stopped.
func (h *Host) Stop(ctx context.Context, id string, grace time.Duration) error {
	svc, _, err := h.engine.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop service %s: %w", id, err)
	}
	spec := svc.Spec
	grace = grace.Round(time.Second)
	zero := uint64(0)
	spec.TaskTemplate.ContainerSpec.StopGracePeriod = &grace
	if spec.Mode.Replicated != nil {
		spec.Mode.Replicated.Replicas = &zero
	}
	_, err = h.engine.ServiceUpdate(ctx, svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{QueryRegistry: false})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop service %s: %w", svc.Spec.Name, err)
	}
	wctx, cancel := context.WithTimeout(ctx, grace+30*time.Second)
	defer cancel()
	t := time.NewTicker(h.poll())
	defer t.Stop()
	for {
		_, tasks, err := h.serviceTasks(wctx, svc.ID)
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		if err == nil && alive(tasks) == 0 {
			return nil
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("stop service %s: tasks still running: %w", svc.Spec.Name, context.Cause(wctx))
		case <-t.C:
		}
	}
}

// Remove removes the service and returns at once: the nodes stop its
// remaining tasks afterwards, with the service's stop grace period (Stop
// first to know they are stopped). A service already gone is not an error.
func (h *Host) Remove(ctx context.Context, id string) error {
	err := h.engine.ServiceRemove(ctx, id)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove service %s: %w", id, err)
	}
	return nil
}
