package deployer

import (
	"context"
	"fmt"
	"maps"
	"net"
	"strconv"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// startNew creates, records and starts the new container.
func (d *deploy) startNew(ctx context.Context, digest string) error {
	now := d.Now()
	inst := Instance{
		Name:     ContainerName(d.w.Name, d.tag, now),
		Workload: d.w.Name,
		Image:    d.ref,
		Tag:      d.tag,
		Digest:   digest,
		Deploy:   d.id,
		State:    StateCreated,
		Network:  d.network,
		Created:  now.UTC(),
	}
	spec, err := d.containerSpec(ctx, inst.Name)
	if err != nil {
		return err
	}
	spec.Labels = withLabels(d.Labels, d.managed(d.w.Name))
	maps.Copy(spec.Labels, map[string]string{
		labels.ManagedTag:     d.tag,
		labels.ManagedImage:   d.ref,
		labels.ManagedDigest:  digest,
		labels.ManagedDeploy:  d.id,
		labels.ManagedPort:    strconv.Itoa(d.w.Port),
		labels.ManagedConfig:  d.fingerprint,
		labels.ManagedNetwork: d.network,
	})
	d.proxySpec(&spec, inst)
	d.created = true // even a failed create may leave a container behind
	id, err := d.Docker.Create(ctx, spec)
	if err != nil {
		return fmt.Errorf("create %s: %w", inst.Name, err)
	}
	inst.ID = id
	d.inst = inst
	d.j.Container, d.j.Name = id, inst.Name
	if err := d.step(ctx, StepCreated, Writes{Instances: []Instance{inst}}); err != nil {
		return err
	}
	if err := d.Docker.Start(ctx, id); err != nil {
		return fmt.Errorf("start %s: %w", inst.Name, err)
	}
	c, err := d.Docker.Inspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", inst.Name, err)
	}
	d.inst.State = StateRunning
	d.inst.Address = c.IPs[d.network]
	d.restarts = c.Restarts
	if err := d.publishedPorts(&d.inst, spec, c); err != nil {
		return err
	}
	if err := d.step(ctx, StepStarted, Writes{Instances: []Instance{d.inst}}); err != nil {
		return err
	}
	d.log.Debug().Str(logkey.Container, inst.Name).Str("address", d.inst.Address).Msg("started")
	return nil
}

// waitHealthy polls the health path from the sidecar (of every task, on
// an engine with tasks), failing early when the container stops running.
func (d *deploy) waitHealthy(ctx context.Context, inst Instance) error {
	if d.w.Healthcheck == "" {
		return nil
	}
	addrs, err := d.probeAddresses(ctx, inst.ID, inst.Address)
	if err != nil {
		return fmt.Errorf("health check %s: %w", inst.Name, err)
	}
	hctx, cancel := context.WithTimeoutCause(ctx, d.w.HealthWait(), ErrUnhealthy)
	defer cancel()
	died := make(chan error, 1)
	go func() { died <- d.watchAlive(hctx, inst.ID); cancel() }()
	err = d.allHealthy(hctx, addrs)
	cancel()
	if dead := <-died; dead != nil && err != nil {
		err = fmt.Errorf("%w: %w", ErrUnhealthy, dead)
	}
	if err != nil {
		return fmt.Errorf("health check %s: %w", inst.Name, err)
	}
	d.log.Debug().Dur(logkey.Took, d.Now().Sub(d.start)).Int("probed", len(addrs)).Msg("healthy")
	return nil
}

// healthURL is where the sidecar probes the health path at address.
func (d *deploy) healthURL(address string) string {
	return "http://" + net.JoinHostPort(address, strconv.Itoa(d.w.Port)) + d.w.Healthcheck
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
