package sidecar

import (
	"context"

	"github.com/docker/docker/api/types/registry"

	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/secrets"
)

// pullAuth is dockerhost's PullAuth hook: a pull that names stored
// registry credentials (the deployer passes the workload's registry label)
// carries them; any other pull is anonymous. Credentials that cannot be
// read fail the pull, naming the registry, never the token.
func pullAuth(v *secrets.Vault) func(ctx context.Context, name, ref string) (registry.AuthConfig, bool, error) {
	return func(ctx context.Context, name, ref string) (registry.AuthConfig, bool, error) {
		if name == "" {
			return registry.AuthConfig{}, false, nil
		}
		r, err := imageref.Parse(ref)
		if err != nil {
			return registry.AuthConfig{}, false, err
		}
		c, err := v.Credential(ctx, name, r.Host)
		if err != nil {
			return registry.AuthConfig{}, false, err
		}
		return registry.AuthConfig{Username: c.Username, Password: c.Password, ServerAddress: c.ServerAddress}, true, nil
	}
}
