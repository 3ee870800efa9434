package deployer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

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
