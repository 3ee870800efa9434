package dockerhost_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/mount"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/policy"
)

// TestCreateAppliesMountsCommandAndLimits checks that what the labels ask
// for reaches the engine: binds (the sidecar creates tinyforge's own
// directories), tmpfs, named volumes, command, cleared entrypoint, limits.
func TestCreateAppliesMountsCommandAndLimits(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	img := "tinyforge-test-" + testsvc.RunID + "/app:spec"
	testsvc.BuildImage(t, cli, img, nil)

	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "web", "data") // does not exist yet
	user := filepath.Join(dir, "user")
	if err := os.Mkdir(user, 0o755); err != nil {
		t.Fatal(err)
	}
	roots, err := policy.ParsePaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	h.BindRoots = roots // the policy lets binds reach the temp dir only
	vol := name(t, "vol")
	t.Cleanup(func() {
		if err := cli.VolumeRemove(context.Background(), vol, true); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove volume %s: %v", vol, err)
		}
	})
	spec := deployer.ContainerSpec{
		Name:   name(t, "c"),
		Image:  img,
		Labels: map[string]string{testsvc.RunLabel: testsvc.RunID},
		Mounts: []deployer.Mount{
			{Type: deployer.MountBind, Source: own, Target: "/data", CreateDir: true},
			{Type: deployer.MountBind, Source: user, Target: "/user", ReadOnly: true},
			{Type: deployer.MountTmpfs, Target: "/tmp"},
			{Type: deployer.MountVolume, Source: vol, Target: "/vol"},
		},
		Entrypoint:  []string{"/app"},
		Cmd:         []string{"-probe", "http://127.0.0.1:1/"},
		NanoCPUs:    5e8,
		MemoryBytes: 64 << 20,
	}
	id, err := h.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { _ = h.Remove(context.Background(), id) })
	if err := h.Start(ctx, id); err != nil {
		t.Fatalf("Start (Create made %s): %v", own, err)
	}
	raw, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(raw.Config.Cmd, spec.Cmd) || !slices.Equal(raw.Config.Entrypoint, spec.Entrypoint) {
		t.Errorf("cmd %v entrypoint %v", raw.Config.Cmd, raw.Config.Entrypoint)
	}
	if raw.HostConfig.NanoCPUs != 5e8 || raw.HostConfig.Memory != 64<<20 {
		t.Errorf("limits: cpus %d memory %d", raw.HostConfig.NanoCPUs, raw.HostConfig.Memory)
	}
	got := map[string]string{}
	for _, m := range raw.Mounts {
		got[m.Destination] = string(m.Type) + " rw=" + map[bool]string{true: "yes", false: "no"}[m.RW]
	}
	want := map[string]string{"/data": "bind rw=yes", "/user": "bind rw=no", "/vol": "volume rw=yes"}
	for dst, w := range want {
		if got[dst] != w {
			t.Errorf("mount %s = %q, want %q (all: %v)", dst, got[dst], w, got)
		}
	}
	if raw.HostConfig.Tmpfs == nil && !hasTmpfs(raw.HostConfig.Mounts) {
		t.Errorf("no tmpfs at /tmp: %+v", raw.HostConfig.Mounts)
	}
	if _, err := os.Stat(own); err != nil {
		t.Errorf("own directory not created: %v", err)
	}

	// An empty entrypoint clears the image's.
	spec.Name, spec.Mounts, spec.Entrypoint, spec.Cmd = name(t, "c2"), nil, []string{}, []string{"/app", "-probe", "x"}
	id2, err := h.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create with cleared entrypoint: %v", err)
	}
	t.Cleanup(func() { _ = h.Remove(context.Background(), id2) })
	raw2, err := cli.ContainerInspect(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw2.Config.Entrypoint) > 1 || (len(raw2.Config.Entrypoint) == 1 && raw2.Config.Entrypoint[0] != "") {
		t.Errorf("entrypoint not cleared: %q", raw2.Config.Entrypoint)
	}
}

func hasTmpfs(ms []mount.Mount) bool {
	for _, m := range ms {
		if m.Type == "tmpfs" && m.Target == "/tmp" {
			return true
		}
	}
	return false
}
