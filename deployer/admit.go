package deployer

import (
	"context"
	"errors"
	"fmt"

	"github.com/tinyforge/tinyforge/labels"
)

// ErrForeignScope: the workload, or a resource it names, belongs to
// another controller key scope (see labels.Workload.KeyScope).
var ErrForeignScope = errors.New("belongs to another controller key scope")

// RegistryScopes tells which controller key scope stored registry
// credentials belong to ("" for credentials of no scope); secrets.Vault
// implements it.
type RegistryScopes interface {
	RegistryScope(ctx context.Context, name string) (string, error)
}

// admit runs before anything of the deploy is written: the workload must
// not belong to another key scope (a container of it, signed, says so),
// and the faces whose host another workload owns are set aside.
func (d *deploy) admit(ctx context.Context) error {
	cs, err := d.Containers(ctx, d.w.Name)
	if err != nil {
		return fmt.Errorf("list containers of %s: %w", d.w.Name, err)
	}
	for _, c := range cs {
		if owner := c.Labels[labels.ManagedKeyScope]; owner != d.w.KeyScope {
			return fmt.Errorf("workload %s %w: its container %s was deployed for key scope %q, this declaration is signed for %q",
				d.w.Name, ErrForeignScope, c.Name, owner, d.w.KeyScope)
		}
	}
	d.refused, err = d.refusedFaces(ctx, d.w, d.domain)
	d.claimed = err == nil
	return err
}

// checkRegistryScope refuses registry credentials of another key scope
// than the workload's, before they are used.
func (d *deploy) checkRegistryScope(ctx context.Context) error {
	if d.w.Registry == "" || d.Registries == nil {
		return nil
	}
	scope, err := d.Registries.RegistryScope(ctx, d.w.Registry)
	if err != nil {
		return fmt.Errorf("registry credentials %q of %s: %w", d.w.Registry, d.w.Name, err)
	}
	if scope != d.w.KeyScope {
		return fmt.Errorf("registry credentials %q %w (%q), not to workload %s's (%q)", d.w.Registry, ErrForeignScope, scope, d.w.Name, d.w.KeyScope)
	}
	return nil
}
