package deployer

import (
	"context"
	"fmt"
	"maps"
	"strconv"

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
		labels.ManagedHosts:   grantedHosts(d.routesFor(inst)),
	})
	if d.w.KeyScope != "" {
		spec.Labels[labels.ManagedKeyScope] = d.w.KeyScope
	}
	d.proxySpec(&spec, inst)
	d.sign(inst.Name, spec.Labels)
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
