package deployer

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// EnvSource supplies the env overrides stored for a workload (tinyforge
// env set) that belong to scope, the workload's controller key scope,
// decrypted. Values of another scope or that it cannot decrypt are left
// out and their keys returned in skipped; err is for a store that cannot
// be read.
// *secrets.Vault implements it.
type EnvSource interface {
	EnvOverrides(ctx context.Context, workload, scope string) (env map[string]string, skipped []string, err error)
}

// checkImage refuses, before any pull, an image outside --allowed-images.
func (d *deploy) checkImage() error {
	if err := d.Images.Allows(d.ref); err != nil {
		return fmt.Errorf("workload %s (label %s.workloads.%s.image): %w", d.w.Name, labels.Root, d.w.Name, err)
	}
	return nil
}

// containerEnv merges base (the labels' env) with the stored overrides,
// which win, and returns the values of the overrides too (secrets, which
// must never be shown). An override of another key scope, or that cannot
// be decrypted, is skipped with a warning naming its key, never its value.
func (d *deploy) containerEnv(ctx context.Context, base map[string]string) (env []string, secret []string, err error) {
	if d.EnvOverrides == nil {
		return envList(base), nil, nil
	}
	over, skipped, err := d.EnvOverrides.EnvOverrides(ctx, d.w.Name, d.w.KeyScope)
	if err != nil {
		return nil, nil, err
	}
	if len(skipped) > 0 {
		d.log.Warn().Strs(logkey.EnvKeys, skipped).Str("key_scope", d.w.KeyScope).
			Msg("env overrides skipped: of another controller key scope, or cannot decrypt (check TINYFORGE_SECRET_KEY_FILE)")
	}
	merged := maps.Clone(base)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, over)
	return envList(merged), slices.Collect(maps.Values(over)), nil
}

// pidsLimit returns the container's PIDs limit: the workload's, or the
// operator's maximum when it asks none or more.
func (d *deploy) pidsLimit() int64 {
	pids, capped := d.Limits.PIDs(int64(d.w.PidsLimit))
	if capped {
		d.log.Warn().Int64("pids_limit", pids).Msg("PIDs limit lowered to --max-pids")
	}
	return pids
}

// limits returns the container's CPU and memory limits: the workload's,
// or the defaults, capped by the maximums.
func (d *deploy) limits() (nanoCPUs, memory int64) {
	cpu, mem, capped := d.Limits.Apply(d.w.NanoCPUs(), d.w.MemoryBytes())
	if capped {
		d.log.Warn().Int64("nano_cpus", cpu).Int64("memory_bytes", mem).Msg("resource limits lowered to --max-cpu/--max-memory")
	}
	return cpu, mem
}
