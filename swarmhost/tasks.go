package swarmhost

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/tinyforge/tinyforge/deployer"
)

// Task is one replica of a service as the deployer needs it: where it
// runs, its state, and the addresses the sidecar probes and the edge
// routes to.
type Task struct {
	ID      string
	Service string // service id
	Slot    int
	Node    string // node id
	// NodeName is the node's hostname (Tasks, Inspect and List fill it;
	// "" when the manager could not list the nodes).
	NodeName string
	State    string // the engine's task state: pending, preparing, running, failed, ...
	Desired  string // the state the orchestrator wants: running, shutdown, ...
	Err      string // the engine's error for a failed, rejected or unschedulable task
	// Addresses maps network name to the task's IP on it (overlay
	// addresses: reachable from containers on the network, not from the host).
	Addresses map[string]string
	// HostPorts maps published container ports to the port on the task's node.
	HostPorts map[int]int
	Updated   time.Time
}

// Running reports whether the task runs and is meant to.
func (t Task) Running() bool {
	return t.State == string(swarm.TaskStateRunning) && t.Desired == string(swarm.TaskStateRunning)
}

// Tasks returns the tasks of the service meant to run (one per replica,
// replacements included while they start), ordered by slot.
func (h *Host) Tasks(ctx context.Context, id string) ([]Task, error) {
	_, tasks, err := h.serviceTasks(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("tasks of service %s: %w", id, err)
	}
	return slices.DeleteFunc(tasks, func(t Task) bool { return t.Desired != string(swarm.TaskStateRunning) }), nil
}

var _ deployer.Tasker = (*Host)(nil)

// TaskAddresses returns the address on network of every running task of
// the service, by slot: what the sidecar health-checks before the switch.
func (h *Host) TaskAddresses(ctx context.Context, id, network string) ([]string, error) {
	tasks, err := h.Tasks(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range tasks {
		if a := t.Addresses[network]; t.Running() && a != "" {
			out = append(out, a)
		}
	}
	return out, nil
}

// serviceTasks inspects the service and lists all its tasks (history
// included), in two engine calls.
func (h *Host) serviceTasks(ctx context.Context, id string) (swarm.Service, []Task, error) {
	svc, _, err := h.engine.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if err != nil {
		return swarm.Service{}, nil, err
	}
	ts, err := h.engine.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		return svc, nil, fmt.Errorf("list tasks: %w", err)
	}
	tasks := fromTasks(ts)
	h.nameNodes(ctx, tasks)
	return svc, tasks, nil
}

// nameNodes fills NodeName of every task from the hostnames of the nodes
// seen so far; a node not seen yet costs one NodeList of the manager,
// which refreshes them all. A failed list leaves the names empty (the
// node id says where the task is).
func (h *Host) nameNodes(ctx context.Context, ts []Task) {
	listed := false
	for i, t := range ts {
		if t.Node == "" {
			continue
		}
		name, ok := h.nodes.Load(t.Node)
		if !ok && !listed {
			listed = true
			if nodes, err := h.engine.NodeList(ctx, swarm.NodeListOptions{}); err == nil {
				for _, n := range nodes {
					h.nodes.Store(n.ID, n.Description.Hostname)
				}
			}
			name, ok = h.nodes.Load(t.Node)
		}
		if ok {
			ts[i].NodeName = name.(string)
		}
	}
}

// fromTasks maps tasks, ordered by slot and then newest first.
func fromTasks(ts []swarm.Task) []Task {
	out := make([]Task, 0, len(ts))
	for _, t := range ts {
		out = append(out, fromTask(t))
	}
	slices.SortFunc(out, func(a, b Task) int {
		return cmp.Or(cmp.Compare(a.Slot, b.Slot), b.Updated.Compare(a.Updated), strings.Compare(a.ID, b.ID))
	})
	return out
}

func fromTask(t swarm.Task) Task {
	out := Task{
		ID:      t.ID,
		Service: t.ServiceID,
		Slot:    t.Slot,
		Node:    t.NodeID,
		State:   string(t.Status.State),
		Desired: string(t.DesiredState),
		Err:     t.Status.Err,
		Updated: t.UpdatedAt,
	}
	for _, na := range t.NetworksAttachments {
		for _, a := range na.Addresses {
			if ip, _, err := net.ParseCIDR(a); err == nil {
				if out.Addresses == nil {
					out.Addresses = map[string]string{}
				}
				out.Addresses[na.Network.Spec.Name] = ip.String()
				break
			}
		}
	}
	for _, p := range t.Status.PortStatus.Ports {
		if p.Protocol == swarm.PortConfigProtocolTCP && p.PublishedPort > 0 {
			if out.HostPorts == nil {
				out.HostPorts = map[int]int{}
			}
			out.HostPorts[int(p.TargetPort)] = int(p.PublishedPort)
		}
	}
	return out
}

// replicas is the number of tasks the service asks for (1 for a global
// service, which tinyforge does not create).
func replicas(s swarm.Service) uint64 {
	if s.Spec.Mode.Replicated != nil && s.Spec.Mode.Replicated.Replicas != nil {
		return *s.Spec.Mode.Replicated.Replicas
	}
	return 1
}

func running(ts []Task) int {
	n := 0
	for _, t := range ts {
		if t.Running() {
			n++
		}
	}
	return n
}

// alive counts the tasks whose container may still run, whatever the
// orchestrator wants of them: the task has not reached a final state.
func alive(ts []Task) int {
	n := 0
	for _, t := range ts {
		switch swarm.TaskState(t.State) {
		case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed,
			swarm.TaskStateRejected, swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		default:
			n++
		}
	}
	return n
}

// progress says whether want tasks run, or why they never will: a task
// that failed or was rejected (bad image, a command that exits, a mount
// the node refuses), or one no node can take (placement).
func progress(want uint64, ts []Task) (bool, error) {
	for _, t := range ts {
		switch swarm.TaskState(t.State) {
		case swarm.TaskStateFailed, swarm.TaskStateRejected:
			return false, fmt.Errorf("task %d on node %s %s: %s", t.Slot, short(t.Node), t.State, cmp.Or(t.Err, "no error given"))
		case swarm.TaskStatePending:
			if strings.Contains(t.Err, "no suitable node") {
				return false, fmt.Errorf("task %d cannot be placed: %s", t.Slot, t.Err)
			}
		}
	}
	return uint64(running(ts)) >= want, nil
}

// describe sums up where the tasks are, for an error when waiting ends.
func describe(want uint64, ts []Task) string {
	var states []string
	for _, t := range ts {
		if t.Desired == string(swarm.TaskStateRunning) {
			s := fmt.Sprintf("task %d %s", t.Slot, t.State)
			if t.Err != "" {
				s += " (" + t.Err + ")"
			}
			states = append(states, s)
		}
	}
	return fmt.Sprintf("%d of %d tasks running [%s]", running(ts), want, strings.Join(states, ", "))
}

// short abbreviates a 25-character swarm id for messages.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
