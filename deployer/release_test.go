package deployer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/traefik/paerser/types"

	"github.com/tinyforge/tinyforge/labels"
)

// envOverrides is a fixed EnvSource.
type envOverrides map[string]string

func (e envOverrides) EnvOverrides(context.Context, string, string) (map[string]string, []string, error) {
	return e, nil, nil
}

// withRelease gives the fixture's workload a release command, env, a
// volume and a secret env override.
func withRelease(f *fixture) {
	f.w.Release = labels.Release{Command: `migrate --to "latest"`, Env: map[string]string{"PHASE": "release"}}
	f.w.Env = map[string]string{"DB": "db:5432", "PHASE": "serve"}
	f.w.Volumes = map[string]*labels.Volume{"data": {Target: "/data", Scope: labels.ScopeEphemeral}}
	f.engine.EnvOverrides = envOverrides{"DB_PASSWORD": "hunter2-secret"}
}

// TestReleaseRunsBeforeTheNewContainer: the release command runs in a
// one-off container of the new image, before the new container exists,
// with the workload's env, release.env over it, the overrides on top, the
// same volumes, network and limits, never restarted and marked; it is
// removed, and its (masked) output is in the deploy's history.
func TestReleaseRunsBeforeTheNewContainer(t *testing.T) {
	f := newFixture(t)
	withRelease(f)
	f.docker.output = "connecting with hunter2-secret\nmigrated 3 tables\n"
	var steps []string
	f.engine.AtStep = func(_ context.Context, step string) {
		steps = append(steps, step)
		if js, _ := f.coord.Journals(context.Background()); step == StepReleasing && (len(js) != 1 || js[0].Release == "") {
			t.Errorf("at %s the journal holds no release container: %+v", step, js)
		}
	}
	res := f.mustDeploy(t, "v1")

	want := []string{StepLocked, StepPulled, StepReleasing, StepReleased, StepCreated}
	if !slices.Equal(steps[:len(want)], want) {
		t.Fatalf("steps %v, want %v first", steps, want)
	}
	if len(f.docker.specs) != 2 {
		t.Fatalf("%d containers created, want the release one and the new one", len(f.docker.specs))
	}
	rel, app := f.docker.specs[0], f.docker.specs[1]
	wantEnv := []string{"DB=db:5432", "DB_PASSWORD=hunter2-secret", "PHASE=release"}
	switch {
	case rel.Name != ReleaseName("web", res.Deploy) || !strings.HasPrefix(rel.Name, "tf-web-release-"):
		t.Errorf("release container named %q", rel.Name)
	case !slices.Equal(rel.Cmd, []string{"migrate", "--to", "latest"}):
		t.Errorf("release command %q", rel.Cmd)
	case !slices.Equal(rel.Env, wantEnv):
		t.Errorf("release env %v, want %v", rel.Env, wantEnv)
	case !rel.OneOff || app.OneOff || rel.Port != 0 || len(rel.Publish) != 0:
		t.Errorf("release one-off %v port %d publish %v; app one-off %v", rel.OneOff, rel.Port, rel.Publish, app.OneOff)
	case rel.Image != app.Image || rel.Network != app.Network || rel.PidsLimit != app.PidsLimit:
		t.Errorf("release %s on %s, app %s on %s", rel.Image, rel.Network, app.Image, app.Network)
	case len(rel.Mounts) != 1 || !slices.Equal(rel.Mounts, app.Mounts):
		t.Errorf("release mounts %+v, app mounts %+v", rel.Mounts, app.Mounts)
	case rel.Labels[labels.ManagedRelease] != "true" || rel.Labels[labels.ManagedDeploy] != res.Deploy ||
		rel.Labels[labels.Managed] != "true" || rel.Labels[labels.ManagedWorkload] != "web":
		t.Errorf("release labels %v", rel.Labels)
	}
	if len(f.docker.containers) != 1 || f.docker.containers[res.Container] == nil {
		t.Fatalf("containers %v, want only the new one", f.docker.containers)
	}
	ev := f.store.events["web"][0]
	if ev.Release == nil || ev.Release.Exit != 0 || ev.Release.Container != rel.Name ||
		ev.Release.Output != "connecting with [secret]\nmigrated 3 tables\n" {
		t.Fatalf("history keeps release %+v", ev.Release)
	}
}

// TestReleaseFailureLeavesTheOldServing: a release command that exits
// non-zero, or runs past release.timeout, fails the deploy before any new
// container exists; the old one keeps serving, the one-off container is
// gone, and the history says why with the output.
func TestReleaseFailureLeavesTheOldServing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
		want  string
		exit  int
	}{
		{"exit 3", func(f *fixture) { f.docker.exit = 3 }, "exited 3", 3},
		{"timeout", func(f *fixture) {
			f.docker.hang = true
			f.w.Release.Timeout = types.Duration(50 * time.Millisecond)
		}, "still running after release.timeout 50ms", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			v1 := f.mustDeploy(t, "v1")
			before := f.upstreams()
			withRelease(f)
			tc.setup(f)
			f.docker.output = "error: relation exists\n"
			creates := len(f.docker.specs)

			_, err := f.deploy(t, "v2")
			if !errors.Is(err, ErrReleaseFailed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrReleaseFailed naming %q", err, tc.want)
			}
			if n := len(f.docker.specs) - creates; n != 1 {
				t.Fatalf("%d containers created, want only the release one", n)
			}
			f.checkConverged(t, v1.Container)
			if got := f.upstreams(); !equalMaps(got, before) {
				t.Fatalf("routes %v, want unchanged %v", got, before)
			}
			evs := f.store.events["web"]
			last := evs[len(evs)-1]
			if !strings.HasPrefix(last.Outcome, OutcomeFailed) || last.Release == nil || last.Release.Exit != tc.exit ||
				last.Release.Output != "error: relation exists\n" {
				t.Fatalf("history %q, release %+v", last.Outcome, last.Release)
			}
		})
	}
}

// TestReleaseContainerRemovedByRecovery: a sidecar that dies while the
// release command runs leaves its one-off container; the next one to hold
// the lock removes it with the deploy's other leftovers, and says so.
func TestReleaseContainerRemovedByRecovery(t *testing.T) {
	f := newFixture(t)
	v1 := f.mustDeploy(t, "v1")
	withRelease(f)
	crashed := f.engine
	reached, release := blockAt(crashed, StepReleasing)
	done := f.deployAsync(crashed, "v2")
	<-reached
	if len(f.docker.containers) != 2 {
		t.Fatalf("containers %v, want v1 and the release container", f.docker.containers)
	}

	restarted := f.newEngine("a2")
	f.clock.Advance(DefaultLockTTL + time.Second)
	rep, err := restarted.Sync(context.Background(), map[string]*labels.Workload{"web": f.w})
	if err != nil || rep.Recovered != 1 {
		t.Fatalf("sync after expiry = %+v, %v", rep, err)
	}
	f.checkConverged(t, v1.Container)
	evs := f.store.events["web"]
	if last := evs[len(evs)-1]; !strings.Contains(last.Outcome, "release command's container removed") || !strings.Contains(last.Note, StepReleasing) {
		t.Fatalf("recovery recorded %+v", last)
	}
	release()
	if err := <-done; err == nil {
		t.Fatal("the frozen deploy succeeded after recovery")
	}
	f.checkConverged(t, v1.Container)
}

// TestReleaseContainersNeverServe: while it exists, a release container is
// none of the workload's containers (Containers, the reconcile pass);
// one whose deploy ended without removing it is removed by the next pass.
func TestReleaseContainersNeverServe(t *testing.T) {
	f := newFixture(t)
	v1 := f.mustDeploy(t, "v1")
	withRelease(f)
	f.docker.removeErr = errors.New("removal refused")
	if _, err := f.deploy(t, "v2"); err == nil {
		t.Fatal("deploy succeeded although its release container could not be removed")
	}
	f.docker.removeErr = nil
	if len(f.docker.containers) != 2 {
		t.Fatalf("containers %v, want v1 and the stray release container", f.docker.containers)
	}
	cs, err := f.engine.Containers(context.Background(), "web")
	if err != nil || len(cs) != 1 || cs[0].ID != v1.Container {
		t.Fatalf("Containers = %v, %v; want only v1", cs, err)
	}
	if strays := StrayReleases([]Container{{ID: "r", Labels: map[string]string{labels.ManagedRelease: "true", labels.ManagedDeploy: "d1"}}},
		[]Journal{{ID: "d1"}}); len(strays) != 0 {
		t.Fatalf("a release container of an open deploy is a stray: %v", strays)
	}
	if _, err := f.engine.Sync(context.Background(), map[string]*labels.Workload{"web": f.w}); err != nil {
		t.Fatal(err)
	}
	f.checkConverged(t, v1.Container)
}
