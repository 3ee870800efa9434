package intake

import (
	"context"
	"fmt"
	"time"

	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/registryapi"
)

// Credentials returns the login a workload's registry label names for a
// registry host (the secrets vault), for a workload of keyScope (its
// controller key's scope, "" without controller keys); ok is false for a
// workload without one, and an error means the stored login cannot be
// read or belongs to another key scope.
type Credentials func(ctx context.Context, registry, keyScope, host string) (username, password string, ok bool, err error)

// Registry is the registry client for w: the intake's settings
// (--insecure-registries, token hosts, --allowed-images before any
// request) with the credentials w's registry label names, read from the
// vault when a registry asks for them. A login that cannot be read fails
// the request it was needed for, naming the registry label.
func (in *Intake) Registry(w *labels.Workload) *registryapi.Resolver {
	r := *in.resolver
	if w.Registry == "" || in.cfg.Credentials == nil {
		return &r
	}
	r.Credentials = func(host string) (string, string, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		user, pass, ok, err := in.cfg.Credentials(ctx, w.Registry, w.KeyScope, host)
		if err != nil {
			in.log.Warn().Err(fmt.Errorf("registry %q: %w", w.Registry, err)).Str("host", host).
				Msg("registry credentials not readable: asking anonymously")
			return "", "", false
		}
		return user, pass, ok
	}
	return &r
}
