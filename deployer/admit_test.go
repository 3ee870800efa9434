package deployer

import (
	"context"
	"errors"
	"testing"
)

type registryScopes map[string]string

func (r registryScopes) RegistryScope(_ context.Context, name string) (string, error) {
	return r[name], nil
}

// TestWorkloadOfAnotherKeyScopeIsRefused: while a container of web
// deployed for key scope team-a exists, a declaration of web signed for
// another scope (or none) deploys nothing and touches no route.
func TestWorkloadOfAnotherKeyScopeIsRefused(t *testing.T) {
	f := signedFixture(t)
	f.w.KeyScope = "team-a"
	v1 := f.mustDeploy(t, "v1")
	before := f.upstreams()
	for _, scope := range []string{"team-b", ""} {
		taker := *f.w
		taker.KeyScope = scope
		_, err := f.engine.Deploy(context.Background(), &taker, Request{Workload: "web", Tag: "v2"})
		if !errors.Is(err, ErrForeignScope) {
			t.Fatalf("deploy of team-a's web under scope %q: %v, want ErrForeignScope", scope, err)
		}
	}
	if len(f.docker.containers) != 1 || f.docker.containers[v1.Container] == nil || !equalMaps(f.upstreams(), before) {
		t.Fatalf("a refused takeover changed containers %v or routes %v", f.docker.containers, f.upstreams())
	}
	f.mustDeploy(t, "v2") // the owner's own declaration still deploys
}

func TestRegistryCredentialsOfAnotherKeyScopeAreRefused(t *testing.T) {
	f := newFixture(t)
	f.engine.Registries = registryScopes{"ghcr": "team-a"}
	f.w.Registry, f.w.KeyScope = "ghcr", "team-b"
	if _, err := f.deploy(t, "v1"); !errors.Is(err, ErrForeignScope) {
		t.Fatalf("deploy with team-a's credentials from team-b: %v, want ErrForeignScope", err)
	}
	if len(f.docker.pulls) != 0 {
		t.Fatalf("pulled %v with another scope's credentials", f.docker.pulls)
	}
	f.w.KeyScope = "team-a"
	f.mustDeploy(t, "v1")
}
