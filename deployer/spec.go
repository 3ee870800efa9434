package deployer

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// containerSpec is the new container of the deploy: image, env, port and
// network, env with the stored overrides on top, the label's command,
// entrypoint and limits (capped by policy), and the volumes the
// policy allows. A volume that cannot be resolved is logged and skipped, as
// the original design does: a bad volume must not block a valid deploy.
func (d *deploy) containerSpec(ctx context.Context, name string) (ContainerSpec, error) {
	spec, _, err := d.specWithEnv(ctx, name, d.w.Env)
	return spec, err
}

// specWithEnv is containerSpec with base in place of the labels' env, and
// the values of the secret overrides in it.
func (d *deploy) specWithEnv(ctx context.Context, name string, base map[string]string) (ContainerSpec, []string, error) {
	env, secret, err := d.containerEnv(ctx, base)
	if err != nil {
		return ContainerSpec{}, nil, fmt.Errorf("env overrides of %s: %w", d.w.Name, err)
	}
	cmd, err := d.w.Command.Split()
	if err != nil {
		return ContainerSpec{}, nil, fmt.Errorf("command of %s: %w", d.w.Name, err)
	}
	entrypoint, err := d.w.Entrypoint.Split()
	if err != nil {
		return ContainerSpec{}, nil, fmt.Errorf("entrypoint of %s: %w", d.w.Name, err)
	}
	policy := d.Volumes
	policy.BaseVolumePath = cmp.Or(d.w.Settings.BaseVolumePath, policy.BaseVolumePath)
	mounts, problems := ResolveVolumes(d.w, d.tag, policy)
	for _, p := range problems {
		d.log.Warn().Str(logkey.Container, name).Str("problem", p.Error()).Msg("volume skipped")
	}
	spec := ContainerSpec{
		Name:       name,
		Image:      d.pullRef(),
		Env:        env,
		Port:       d.w.Port,
		Network:    d.network,
		Mounts:     mounts,
		Cmd:        cmd,
		Entrypoint: entrypoint,

		Replicas:    max(d.w.Replicas, 1),
		Constraints: d.w.Placement.ConstraintList(),
		Preferences: d.w.Placement.PreferenceList(),
	}
	spec.NanoCPUs, spec.MemoryBytes = d.limits()
	spec.PidsLimit = d.pidsLimit()
	return spec, secret, nil
}

// proxySpec adds what the proxy needs to a new container: its labels for
// a ContainerLabeler (the deployer's own labels win), and the published
// face ports when routes dial the Docker host.
func (d *deploy) proxySpec(spec *ContainerSpec, inst Instance) {
	if l, ok := d.Proxy.(ContainerLabeler); ok {
		spec.Labels = withLabels(l.ContainerLabels(d.routesFor(inst)), spec.Labels)
	}
	if d.PublishHost != "" {
		spec.Publish = d.facePorts()
		spec.PublishIP = d.PublishBind
	}
}

// facePorts are the distinct container ports of the enabled faces, sorted.
func (d *deploy) facePorts() []int {
	var ports []int
	for _, f := range d.w.Faces {
		if f.Enabled() && !slices.Contains(ports, f.Port(d.w)) {
			ports = append(ports, f.Port(d.w))
		}
	}
	slices.Sort(ports)
	return ports
}

// publishedPorts records the host ports Docker gave the published ports;
// a port Docker did not publish is an error, since a route could not
// reach it.
func (d *deploy) publishedPorts(inst *Instance, spec ContainerSpec, c Container) error {
	if len(spec.Publish) == 0 {
		return nil
	}
	inst.HostPorts = make(map[int]int, len(spec.Publish))
	for _, p := range spec.Publish {
		hp := c.HostPorts[p]
		if hp == 0 {
			return fmt.Errorf("publish %s: container port %d has no host port", inst.Name, p)
		}
		inst.HostPorts[p] = hp
	}
	return nil
}

// withLabels returns extra overlaid with own: own keys always win.
func withLabels(extra, own map[string]string) map[string]string {
	out := maps.Clone(extra)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, own)
	return out
}

// envList turns the env map into sorted KEY=value pairs.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
