package dockerhost_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/policy"
)

// TestPlantedSymlinkIsNotFollowed runs the real sequence on real Docker:
// the deployer resolves a stage volume while the path is clean, then a
// symlink is planted inside the allowed root (as a container writing to a
// shared directory could) before the container is created. Create must
// refuse it without creating anything through the link, and with the
// link gone it creates the directory itself and the container runs.
func TestPlantedSymlinkIsNotFollowed(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	img := "tinyforge-test-" + testsvc.RunID + "/app:bind"
	testsvc.BuildImage(t, cli, img, nil)

	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(root, "volumes")
	secret := filepath.Join(root, "secret") // inside the allowed root, not the base
	for _, d := range []string{base, secret} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	roots, err := policy.ParsePaths([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	h.BindRoots = roots
	w := &labels.Workload{Name: "web", Volumes: map[string]*labels.Volume{"data": {Scope: labels.ScopeStage, Target: "/data"}}}
	mounts, problems := deployer.ResolveVolumes(w, "v1", deployer.VolumePolicy{BaseVolumePath: base, AllowedPaths: []string{root}})
	if len(problems) != 0 || len(mounts) != 1 {
		t.Fatalf("resolve: %+v %q", mounts, problems)
	}

	// Planted between the check and the mount.
	link := filepath.Join(base, "web")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	spec := deployer.ContainerSpec{
		Name: name(t, "c"), Image: img, Mounts: mounts,
		Labels: map[string]string{testsvc.RunLabel: testsvc.RunID},
		Cmd:    []string{"-probe", "http://127.0.0.1:1/"},
	}
	id, err := h.Create(ctx, spec)
	if err == nil {
		_ = h.Remove(context.Background(), id)
		t.Fatal("Create followed a planted symlink")
	}
	if !errors.Is(err, dockerhost.ErrBindSource) || !strings.Contains(err.Error(), link+" is a symlink") {
		t.Fatalf("Create = %v, want ErrBindSource naming %s", err, link)
	}
	if _, err := os.Lstat(filepath.Join(secret, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("something was created through the symlink: %v", err)
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", spec.Name))})
	if err != nil || len(list) != 0 {
		t.Fatalf("containers named %s after the refusal: %v (%v)", spec.Name, list, err)
	}

	// Without the link: the sidecar creates the directory, Docker binds it.
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	id, err = h.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create on a clean path: %v", err)
	}
	t.Cleanup(func() { _ = h.Remove(context.Background(), id) })
	if err := h.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(mounts[0].Source); err != nil || !fi.IsDir() {
		t.Fatalf("%s after Create: %v %v, want a real directory", mounts[0].Source, fi, err)
	}
	raw, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Mounts) != 1 || raw.Mounts[0].Source != mounts[0].Source || raw.Mounts[0].Destination != "/data" {
		t.Fatalf("mounts = %+v, want %s on /data", raw.Mounts, mounts[0].Source)
	}
}

// TestMissingAbsoluteSourceIsRefused: an absolute source is never created,
// not by the sidecar and not by Docker.
func TestMissingAbsoluteSourceIsRefused(t *testing.T) {
	_, h := newHost(t)
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots, err := policy.ParsePaths([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	h.BindRoots = roots
	src := filepath.Join(root, "missing", "data")
	_, err = h.Create(ctxFor(t, time.Minute), deployer.ContainerSpec{
		Name: name(t, "c"), Image: "unused:v0",
		Mounts: []deployer.Mount{{Type: deployer.MountBind, Source: src, Target: "/data"}},
	})
	if !errors.Is(err, dockerhost.ErrBindSource) || !strings.Contains(err.Error(), filepath.Join(root, "missing")+" does not exist") {
		t.Fatalf("Create = %v, want ErrBindSource naming the missing directory", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing source was created: %v", err)
	}
}
