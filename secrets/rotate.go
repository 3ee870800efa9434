package secrets

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// RotateReport says what a rotation did. Failed names the values (never
// their content) that no configured key could open; they are left as they were.
type RotateReport struct {
	Resealed  int
	Unchanged int
	Failed    []string
}

// casRetries bounds how often a value changed under a rotation is re-read.
const casRetries = 3

// Rotate re-seals every registry token and secret env override that is not
// sealed under the current key. Run it after putting the new key in
// TINYFORGE_SECRET_KEY_FILE and the previous one in
// TINYFORGE_SECRET_OLD_KEY_FILE; once it reports no failures, the old key
// can be dropped. Concurrent writes are never overwritten.
func (v *Vault) Rotate(ctx context.Context) (RotateReport, error) {
	var rep RotateReport
	if v.Keys == nil {
		return rep, ErrNoKey
	}
	regs, err := v.Store.ListRegistries(ctx)
	if err != nil {
		return rep, fmt.Errorf("rotate: %w", err)
	}
	for _, r := range regs {
		if err := v.rotateRegistry(ctx, r, &rep); err != nil {
			return rep, err
		}
	}
	workloads, err := v.Store.EnvWorkloads(ctx)
	if err != nil {
		return rep, fmt.Errorf("rotate: %w", err)
	}
	for _, w := range workloads {
		if err := v.rotateEnv(ctx, w, &rep); err != nil {
			return rep, err
		}
	}
	slices.Sort(rep.Failed)
	return rep, nil
}

func (v *Vault) rotateRegistry(ctx context.Context, r Registry, rep *RotateReport) error {
	for range casRetries {
		if v.Keys.Current(r.Token) {
			rep.Unchanged++
			return nil
		}
		pt, err := v.Keys.Open(r.Token, registryContext(r.Name, r.Scope))
		if err != nil {
			rep.Failed = append(rep.Failed, "registry "+r.Name+": "+err.Error())
			return nil
		}
		next := r
		if next.Token, err = v.Keys.Seal(pt, registryContext(r.Name, r.Scope)); err != nil {
			return fmt.Errorf("rotate registry %s: %w", r.Name, err)
		}
		ok, err := v.Store.ReplaceRegistry(ctx, r, next)
		if err != nil {
			return fmt.Errorf("rotate registry %s: %w", r.Name, err)
		}
		if ok {
			rep.Resealed++
			return nil
		}
		if r, err = v.Store.GetRegistry(ctx, r.Name); err != nil {
			return nil // removed meanwhile: nothing to rotate
		}
	}
	rep.Failed = append(rep.Failed, "registry "+r.Name+": changed during rotation, run again")
	return nil
}

func (v *Vault) rotateEnv(ctx context.Context, workload string, rep *RotateReport) error {
	env, err := v.Store.GetEnv(ctx, workload)
	if err != nil {
		return fmt.Errorf("rotate env of %s: %w", workload, err)
	}
	for _, key := range slices.Sorted(maps.Keys(env)) {
		ev := env[key]
		name := "env " + workload + " " + key
		done := false
		for range casRetries {
			if !ev.Secret || v.Keys.Current(ev.Value) {
				rep.Unchanged++
				done = true
				break
			}
			pt, err := v.Keys.Open(ev.Value, envContext(workload, key, ev.Scope))
			if err != nil {
				rep.Failed = append(rep.Failed, name+": "+err.Error())
				done = true
				break
			}
			next := ev
			if next.Value, err = v.Keys.Seal(pt, envContext(workload, key, ev.Scope)); err != nil {
				return fmt.Errorf("rotate %s: %w", name, err)
			}
			ok, err := v.Store.ReplaceEnv(ctx, workload, key, ev, next)
			if err != nil {
				return fmt.Errorf("rotate %s: %w", name, err)
			}
			if ok {
				rep.Resealed++
				done = true
				break
			}
			now, err := v.Store.GetEnv(ctx, workload)
			if err != nil {
				return fmt.Errorf("rotate %s: %w", name, err)
			}
			if ev, ok = now[key]; !ok {
				done = true // unset meanwhile
				break
			}
		}
		if !done {
			rep.Failed = append(rep.Failed, name+": changed during rotation, run again")
		}
	}
	return nil
}
