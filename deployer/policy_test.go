package deployer

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/policy"
)

// specDocker records the specs Create receives and the registry name in
// each pull.
type specDocker struct {
	*fakeDocker
	specs      []ContainerSpec
	registries []string
}

func (s *specDocker) Create(ctx context.Context, spec ContainerSpec) (string, error) {
	s.specs = append(s.specs, spec)
	return s.fakeDocker.Create(ctx, spec)
}

func (s *specDocker) Pull(ctx context.Context, ref, registry string) (string, error) {
	s.registries = append(s.registries, registry)
	return s.fakeDocker.Pull(ctx, ref, registry)
}

type envFunc func(ctx context.Context, workload string) (map[string]string, []string, error)

func (f envFunc) EnvOverrides(ctx context.Context, workload, _ string) (map[string]string, []string, error) {
	return f(ctx, workload)
}

func TestDeployRefusesImagesOutsideTheAllowList(t *testing.T) {
	f := newFixture(t)
	var err error
	if f.engine.Images, err = policy.ParseImages([]string{"ghcr.io/acme"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.deploy(t, "v1")
	want := "workload web (label tinyforge.workloads.web.image): image reg.local/web:v1 (reg.local/web) not allowed by --allowed-images [ghcr.io/acme]"
	if !errors.Is(err, policy.ErrImageNotAllowed) || err.Error() != want {
		t.Fatalf("deploy = %v\nwant %s", err, want)
	}
	if len(f.docker.pulls) != 0 || len(f.docker.containers) != 0 {
		t.Fatalf("pulls %v, containers %d: want none", f.docker.pulls, len(f.docker.containers))
	}
	if evs := f.store.events["web"]; len(evs) != 1 || evs[0].Outcome != "failed: "+want {
		t.Fatalf("history = %+v, want the refusal recorded", evs)
	}
	f.engine.Images, _ = policy.ParseImages([]string{"reg.local"})
	f.mustDeploy(t, "v1")
}

func TestDeployMergesEnvOverrides(t *testing.T) {
	f := newFixture(t)
	sd := &specDocker{fakeDocker: f.docker}
	f.engine.Docker = sd
	var logs bytes.Buffer
	f.engine.Log = zerolog.New(&logs)
	f.w.Env = map[string]string{"MODE": "label", "KEEP": "label"}
	f.engine.EnvOverrides = envFunc(func(_ context.Context, w string) (map[string]string, []string, error) {
		if w != "web" {
			t.Errorf("overrides asked for %q", w)
		}
		return map[string]string{"MODE": "override", "DB_PASSWORD": "s3cret"}, []string{"API_KEY"}, nil
	})
	f.mustDeploy(t, "v1")
	want := []string{"DB_PASSWORD=s3cret", "KEEP=label", "MODE=override"}
	if got := sd.specs[0].Env; !slices.Equal(got, want) {
		t.Fatalf("env = %v, want %v", got, want)
	}
	if !strings.Contains(logs.String(), `"env_keys":["API_KEY"]`) || strings.Contains(logs.String(), "s3cret") {
		t.Fatalf("log = %s", logs.String())
	}
	if sd.registries[0] != "" {
		t.Errorf("pull registry = %q, want anonymous", sd.registries[0])
	}

	// A store that cannot be read fails the deploy before anything is created.
	f.engine.EnvOverrides = envFunc(func(context.Context, string) (map[string]string, []string, error) {
		return nil, nil, errors.New("env overrides of web: redis down")
	})
	before := len(sd.specs)
	if _, err := f.deploy(t, "v2"); err == nil || !strings.Contains(err.Error(), "redis down") {
		t.Fatalf("deploy with unreadable overrides = %v", err)
	}
	if len(sd.specs) != before || len(f.docker.containers) != 1 {
		t.Fatal("a container was created without its env")
	}
}

func TestDeployAppliesLimits(t *testing.T) {
	f := newFixture(t)
	sd := &specDocker{fakeDocker: f.docker}
	f.engine.Docker = sd
	f.engine.Limits = policy.Limits{DefaultNanoCPUs: 5e8, DefaultMemory: 128 << 20, MaxNanoCPUs: 1e9, MaxMemory: 1 << 30, MaxPIDs: 512}
	f.mustDeploy(t, "v1")
	if s := sd.specs[0]; s.NanoCPUs != 5e8 || s.MemoryBytes != 128<<20 || s.PidsLimit != 512 {
		t.Fatalf("limits = %d, %d, %d pids; want the defaults", s.NanoCPUs, s.MemoryBytes, s.PidsLimit)
	}
	// A label may lower the PIDs limit, never raise it.
	f.w.PidsLimit = 64
	f.mustDeploy(t, "v2")
	f.w.PidsLimit = 100000
	f.mustDeploy(t, "v3")
	if a, b := sd.specs[1].PidsLimit, sd.specs[2].PidsLimit; a != 64 || b != 512 {
		t.Fatalf("pids limits = %d, %d; want 64 (label) and 512 (capped)", a, b)
	}
}

// TestDeployPullsWithTheWorkloadsRegistry: the registry label reaches
// Docker as the pull's credentials name.
func TestDeployPullsWithTheWorkloadsRegistry(t *testing.T) {
	f := newFixture(t)
	sd := &specDocker{fakeDocker: f.docker}
	f.engine.Docker = sd
	f.w.Registry = "ghcr"
	f.mustDeploy(t, "v1")
	if !slices.Equal(sd.registries, []string{"ghcr"}) {
		t.Fatalf("pull registries = %q, want [ghcr]", sd.registries)
	}
}
