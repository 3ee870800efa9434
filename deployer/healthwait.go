package deployer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// waitHealthy waits until the new container passes the workload's health
// check (see labels.HealthKind), failing early when the container stops
// running. The check may take healthStartPeriod + healthTimeout: probes
// failing within the start period do not count, they are only repeated.
func (d *deploy) waitHealthy(ctx context.Context, inst Instance) error {
	kind := d.w.HealthKind()
	if kind == labels.HealthNone {
		return nil
	}
	var addrs []string // every task's, on an engine with tasks (see probeAddresses)
	if kind != labels.HealthDocker {
		var err error
		if addrs, err = d.probeAddresses(ctx, inst.ID, inst.Address); err != nil {
			return fmt.Errorf("health check %s: %w", inst.Name, err)
		}
	}
	hctx, cancel := context.WithTimeoutCause(ctx, d.w.StartPeriod()+d.w.HealthWait(), ErrUnhealthy)
	defer cancel()
	died := make(chan error, 1)
	go func() { died <- d.watchAlive(hctx, inst.ID); cancel() }()
	var err error
	if kind == labels.HealthDocker {
		err = d.waitDockerHealthy(hctx, inst.ID)
	} else {
		err = d.allHealthy(hctx, addrs)
	}
	cancel()
	if dead := <-died; dead != nil && err != nil {
		err = fmt.Errorf("%w: %w", ErrUnhealthy, dead)
	}
	if err != nil {
		return fmt.Errorf("health check %s (%s): %w", inst.Name, healthBudget(d.w), err)
	}
	d.log.Debug().Dur(logkey.Took, d.Now().Sub(d.start)).Msg("healthy")
	return nil
}

// healthBudget says how long the health check may take, for messages.
func healthBudget(w *labels.Workload) string {
	b := "healthTimeout " + w.HealthWait().String()
	if sp := w.StartPeriod(); sp > 0 {
		b = "healthStartPeriod " + sp.String() + " + " + b
	}
	return b
}

// workloadProbe is the HTTP or TCP probe of w's health check for a
// container at addr (an IP on the workload network, or a name).
func workloadProbe(w *labels.Workload, addr string) Probe {
	return Probe{
		Kind:     w.HealthKind(),
		Addr:     net.JoinHostPort(addr, strconv.Itoa(w.ProbePort())),
		Path:     w.HealthPath(),
		Host:     w.HealthHost,
		Healthy:  w.HealthyStatus,
		Interval: w.ProbeInterval(),
	}
}

// errNoHealthcheck: healthcheck docker, but the image declares no
// HEALTHCHECK for Docker to run.
var errNoHealthcheck = errors.New("the image declares no HEALTHCHECK (healthcheck docker needs one; use a path, http or tcp instead)")

// waitDockerHealthy reads the container's health state, which Docker keeps
// by running the image's own HEALTHCHECK, every probe interval (sooner at
// first) until it is healthy. Unhealthy fails once the start period is
// over; an image without a HEALTHCHECK fails at once (Docker sets a
// health state when it starts a container that has one).
func (d *deploy) waitDockerHealthy(ctx context.Context, id string) error {
	started := time.Now()
	interval := d.w.ProbeInterval()
	wait := min(firstPoll, interval)
	last := "no health state read yet"
	for {
		c, err := d.Docker.Inspect(ctx, id)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				last = err.Error()
			}
		case c.Health == "":
			return fmt.Errorf("%w: %w", ErrUnhealthy, errNoHealthcheck)
		case c.Health == "healthy":
			return nil
		case c.Health == "unhealthy" && time.Since(started) >= d.w.StartPeriod():
			return fmt.Errorf("%w: Docker reports the container unhealthy (its HEALTHCHECK failed)", ErrUnhealthy)
		default:
			last = "Docker reports the container " + c.Health
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w: %s", ErrUnhealthy, last)
		}
		wait = min(wait+wait/4+time.Millisecond, interval)
	}
}

// watchAlive returns an error as soon as the container stops running, or
// nil when ctx ends first.
func (d *deploy) watchAlive(ctx context.Context, id string) error {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		c, err := d.Docker.Inspect(ctx, id)
		if err == nil && !c.Running {
			return fmt.Errorf("container %s", c.State)
		}
	}
}
