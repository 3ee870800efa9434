package swarmhost

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/tinyforge/tinyforge/deployer"
)

// Service states in deployer.Container.State: Docker has none for a
// service, so they are derived from its tasks.
const (
	StateRunning  = "running"  // every replica runs
	StateStarting = "starting" // fewer replicas run than asked for
	StateStopped  = "exited"   // scaled to zero, nothing runs (the deployer's word for it)
)

// Inspect returns the service as one deployer.Container: running when
// every replica runs, with the addresses and host ports of its first
// running task (by slot). Tasks gives every task. A missing service is an
// error for which cerrdefs.IsNotFound holds.
func (h *Host) Inspect(ctx context.Context, id string) (deployer.Container, error) {
	svc, tasks, err := h.serviceTasks(ctx, id)
	if err != nil {
		return deployer.Container{}, fmt.Errorf("inspect service %s: %w", id, err)
	}
	return fromService(svc, tasks), nil
}

// List returns every service carrying all of the given labels, with its
// tasks' state, in two engine calls (services, then their tasks).
func (h *Host) List(ctx context.Context, lbls map[string]string) ([]deployer.Container, error) {
	f := filters.NewArgs()
	for k, v := range lbls {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	svcs, err := h.engine.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list services %v: %w", lbls, err)
	}
	if len(svcs) == 0 {
		return nil, nil
	}
	tf := filters.NewArgs()
	for _, s := range svcs {
		tf.Add("service", s.ID)
	}
	ts, err := h.engine.TaskList(ctx, swarm.TaskListOptions{Filters: tf})
	if err != nil {
		return nil, fmt.Errorf("list tasks of services %v: %w", lbls, err)
	}
	tasks := fromTasks(ts)
	h.nameNodes(ctx, tasks)
	byService := map[string][]Task{}
	for _, t := range tasks {
		byService[t.Service] = append(byService[t.Service], t)
	}
	out := make([]deployer.Container, 0, len(svcs))
	for _, s := range svcs {
		out = append(out, fromService(s, byService[s.ID]))
	}
	return out, nil
}

// fromService maps a service and its tasks (history included, ordered by
// slot). Tasks are those meant to run (desired state running). Restarts counts tasks that ended on their own (failed, rejected,
// complete) and were replaced; the engine keeps a few per slot
// (TaskHistoryRetentionLimit, 5 by default), so the count saturates there.
func fromService(s swarm.Service, ts []Task) deployer.Container {
	c := deployer.Container{
		ID:      s.ID,
		Name:    s.Spec.Name,
		Labels:  s.Spec.Labels,
		Created: s.CreatedAt,
	}
	if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
		c.Image = cs.Image
	}
	want := replicas(s)
	n := uint64(running(ts))
	switch {
	case want > 0 && n >= want:
		c.State = StateRunning
	case want == 0 && n == 0:
		c.State = StateStopped
	default:
		c.State = StateStarting
	}
	c.Running = c.State == StateRunning
	for _, t := range ts {
		switch swarm.TaskState(t.State) {
		case swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateComplete:
			c.Restarts++
		}
		if t.Desired == string(swarm.TaskStateRunning) {
			c.Tasks = append(c.Tasks, deployer.TaskAt{Slot: t.Slot, Node: t.Node, NodeName: t.NodeName, State: t.State})
		}
		if t.Running() && c.IPs == nil {
			c.IPs = t.Addresses
			c.HostPorts = t.HostPorts
		}
	}
	return c
}
