package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

// Tasker is optional on Docker (swarmhost.Host has it): one deployed
// version runs as several tasks (replicas), each at an address of its own.
// The health check before the switch and the post-switch watch then probe
// every task, not one address. Without it (one container per version),
// nothing changes.
type Tasker interface {
	// TaskAddresses returns the address on network of every running task
	// of the deployed version id.
	TaskAddresses(ctx context.Context, id, network string) ([]string, error)
}

// ErrNeedsSwarm: the workload asks for replicas or a placement, which only
// an engine with tasks (the swarm engine) can give.
var ErrNeedsSwarm = errors.New("needs the swarm engine (sidecar --engine swarm)")

// checkPlacement refuses, before any pull, replicas or a placement the
// engine cannot honour: one Docker host runs one container per version.
func (d *deploy) checkPlacement() error {
	if _, ok := d.Docker.(Tasker); ok {
		return nil
	}
	if d.w.Replicas > 1 {
		return fmt.Errorf("workload %s: label %s.workloads.%s.replicas=%d %w", d.w.Name, labels.Root, d.w.Name, d.w.Replicas, ErrNeedsSwarm)
	}
	if !d.w.Placement.IsZero() {
		return fmt.Errorf("workload %s: label %s.workloads.%s.placement %w", d.w.Name, labels.Root, d.w.Name, ErrNeedsSwarm)
	}
	return nil
}

// probeAddresses is where the health of the deployed version id is
// probed: every running task's address with a Tasker, else address.
func (d *deploy) probeAddresses(ctx context.Context, id, address string) ([]string, error) {
	t, ok := d.Docker.(Tasker)
	if !ok {
		if address == "" {
			return nil, fmt.Errorf("no address on network %s", d.network)
		}
		return []string{address}, nil
	}
	addrs, err := t.TaskAddresses(ctx, id, d.network)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no running task with an address on network %s", d.network)
	}
	return addrs, nil
}

// allHealthy probes every address at once and returns when all passed, or
// the failures (naming each address) when any fails.
func (d *deploy) allHealthy(ctx context.Context, addrs []string) error {
	if len(addrs) == 1 {
		return d.Health.WaitHealthy(ctx, workloadProbe(d.w, addrs[0]))
	}
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() {
			if err := d.Health.WaitHealthy(ctx, workloadProbe(d.w, a)); err != nil {
				errs[i] = fmt.Errorf("task at %s: %w", a, err)
			}
		})
	}
	wg.Wait()
	return joinErrs(errs)
}

// taskErrs are the failures of several tasks, on one line.
type taskErrs []error

func (e taskErrs) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e taskErrs) Unwrap() []error { return e }

// joinErrs is the non-nil errors of errs, nil when there are none.
func joinErrs(errs []error) error {
	var out taskErrs
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// SummarizeTasks says in one line where tasks run and in what state, as
// `tinyforge deploys` and the status page show it:
//
//	2 tasks running on node-a, node-b
//	3 tasks: 2 running on node-a (2); 1 preparing on node-c
//
// A node is named by its hostname, else by its short id; nodes sharing a
// hostname get their short id added (node-a/x1y2z3a4b5c6). States come in
// the order of their first task by slot; "" when there are no tasks.
func SummarizeTasks(ts []TaskAt) string {
	if len(ts) == 0 {
		return ""
	}
	names := nodeNames(ts)
	type group struct {
		state string
		n     int
		nodes []string       // in order of first task
		per   map[string]int // tasks per node
	}
	var groups []*group
	byState := map[string]*group{}
	for _, t := range ts {
		g := byState[t.State]
		if g == nil {
			g = &group{state: t.State, per: map[string]int{}}
			byState[t.State] = g
			groups = append(groups, g)
		}
		g.n++
		name := names[t.Node]
		if g.per[name] == 0 {
			g.nodes = append(g.nodes, name)
		}
		g.per[name]++
	}
	parts := make([]string, len(groups))
	for i, g := range groups {
		nodes := make([]string, len(g.nodes))
		for j, name := range g.nodes {
			nodes[j] = name
			if n := g.per[name]; n > 1 {
				nodes[j] = fmt.Sprintf("%s (%d)", name, n)
			}
		}
		parts[i] = fmt.Sprintf("%s on %s", cmp.Or(g.state, "unknown"), strings.Join(nodes, ", "))
	}
	noun := "tasks"
	if len(ts) == 1 {
		noun = "task"
	}
	if len(groups) == 1 {
		return fmt.Sprintf("%d %s %s", len(ts), noun, parts[0])
	}
	for i, g := range groups {
		parts[i] = fmt.Sprintf("%d %s", g.n, parts[i])
	}
	return fmt.Sprintf("%d %s: %s", len(ts), noun, strings.Join(parts, "; "))
}

// nodeNames names each node of ts for people: its hostname, else its
// short id; a hostname two nodes share gets the short id added.
func nodeNames(ts []TaskAt) map[string]string {
	ids := map[string][]string{} // hostname -> distinct node ids
	for _, t := range ts {
		if t.NodeName != "" && !slices.Contains(ids[t.NodeName], t.Node) {
			ids[t.NodeName] = append(ids[t.NodeName], t.Node)
		}
	}
	out := map[string]string{}
	for _, t := range ts {
		switch {
		case t.NodeName == "":
			out[t.Node] = cmp.Or(shortID(t.Node), "unknown node")
		case len(ids[t.NodeName]) > 1:
			out[t.Node] = t.NodeName + "/" + shortID(t.Node)
		default:
			out[t.Node] = t.NodeName
		}
	}
	return out
}

// shortID abbreviates a 25-character swarm id as the docker CLI does.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// noteTasks keeps where the new version's tasks are now, for the
// deploy's record, on an engine with tasks; nothing on one Docker host.
func (d *deploy) noteTasks(ctx context.Context) {
	if _, ok := d.Docker.(Tasker); !ok || d.inst.ID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	c, err := d.Docker.Inspect(ctx, d.inst.ID)
	if err != nil {
		d.log.Debug().Err(err).Msg("tasks of the new version for its record")
		return
	}
	d.tasks = c.Tasks
}
