package deployer

import (
	"cmp"
	"context"
	"fmt"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// containerSpec is the new container of the deploy: image, env, port and
// network, env with the stored overrides on top, the label's command,
// entrypoint and limits (capped by policy), and the volumes the
// policy allows. A volume that cannot be resolved is logged and skipped, as
// the original design does: a bad volume must not block a valid deploy.
func (d *deploy) containerSpec(ctx context.Context, name string) (ContainerSpec, error) {
	env, err := d.containerEnv(ctx)
	if err != nil {
		return ContainerSpec{}, fmt.Errorf("env overrides of %s: %w", d.w.Name, err)
	}
	cmd, err := d.w.Command.Split()
	if err != nil {
		return ContainerSpec{}, fmt.Errorf("command of %s: %w", d.w.Name, err)
	}
	entrypoint, err := d.w.Entrypoint.Split()
	if err != nil {
		return ContainerSpec{}, fmt.Errorf("entrypoint of %s: %w", d.w.Name, err)
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
	}
	spec.NanoCPUs, spec.MemoryBytes = d.limits()
	spec.PidsLimit = d.pidsLimit()
	return spec, nil
}
