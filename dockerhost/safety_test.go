package dockerhost

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"

	"github.com/tinyforge/tinyforge/policy"
)

func TestCheckHostConfig(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(data, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/var/run", filepath.Join(data, "run")); err != nil {
		t.Fatal(err)
	}
	roots, err := policy.ParsePaths([]string{data})
	if err != nil {
		t.Fatal(err)
	}
	safe := func() *container.HostConfig {
		return &container.HostConfig{NetworkMode: "tf-net", Binds: []string{filepath.Join(data, "app") + ":/data:rw", "named-vol:/cache"},
			Mounts: []mount.Mount{{Type: mount.TypeTmpfs, Target: "/tmp"}, {Type: mount.TypeVolume, Source: "v", Target: "/v"}}}
	}
	if err := checkHostConfig(safe(), roots); err != nil {
		t.Fatalf("safe config refused: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*container.HostConfig)
		want string
	}{
		{"privileged", func(h *container.HostConfig) { h.Privileged = true }, "privileged"},
		{"host network", func(h *container.HostConfig) { h.NetworkMode = "host" }, `network mode "host"`},
		{"container network", func(h *container.HostConfig) { h.NetworkMode = "container:sidecar" }, `network mode "container:sidecar"`},
		{"host pid", func(h *container.HostConfig) { h.PidMode = "host" }, `pid mode "host"`},
		{"container pid", func(h *container.HostConfig) { h.PidMode = "container:x" }, `pid mode "container:x"`},
		{"host ipc", func(h *container.HostConfig) { h.IpcMode = "host" }, `ipc mode "host"`},
		{"host uts", func(h *container.HostConfig) { h.UTSMode = "host" }, `uts mode "host"`},
		{"host userns", func(h *container.HostConfig) { h.UsernsMode = "host" }, `userns mode "host"`},
		{"host cgroupns", func(h *container.HostConfig) { h.CgroupnsMode = "host" }, `cgroupns mode "host"`},
		{"cap add", func(h *container.HostConfig) { h.CapAdd = []string{"SYS_ADMIN"} }, "added capabilities [SYS_ADMIN]"},
		{"devices", func(h *container.HostConfig) {
			h.Devices = []container.DeviceMapping{{PathOnHost: "/dev/sda", PathInContainer: "/dev/sda"}}
		}, "host devices"},
		{"gpus", func(h *container.HostConfig) { h.DeviceRequests = []container.DeviceRequest{{Count: -1}} }, "host devices"},
		{"seccomp unconfined", func(h *container.HostConfig) { h.SecurityOpt = []string{"seccomp=unconfined"} }, `security option "seccomp=unconfined"`},
		{"selinux off", func(h *container.HostConfig) { h.SecurityOpt = []string{"label=disable"} }, `security option "label=disable"`},
		{"volumes from", func(h *container.HostConfig) { h.VolumesFrom = []string{"sidecar"} }, "volumes from other containers"},
		{"docker socket", func(h *container.HostConfig) { h.Binds = []string{"/var/run/docker.sock:/var/run/docker.sock"} }, `bind source "/var/run/docker.sock" exposes the container runtime socket`},
		{"socket dir", func(h *container.HostConfig) { h.Binds = []string{"/run:/host-run:ro"} }, "exposes the container runtime socket"},
		{"root", func(h *container.HostConfig) { h.Binds = []string{"/:/host"} }, "exposes the container runtime socket"},
		{"socket through an allowed symlink", func(h *container.HostConfig) {
			h.Binds = []string{filepath.Join(data, "run", "docker.sock") + ":/s"}
		}, "outside --allowed-volume-paths"},
		{"outside roots", func(h *container.HostConfig) { h.Binds = []string{"/etc:/etc"} }, `bind source "/etc": outside --allowed-volume-paths`},
		{"dot-dot escape", func(h *container.HostConfig) { h.Binds = []string{data + "/app/../../..:/x"} }, "outside --allowed-volume-paths"},
		{"bind mount", func(h *container.HostConfig) {
			h.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: "/etc", Target: "/etc"}}
		}, "outside --allowed-volume-paths"},
		{"volume with bind options", func(h *container.HostConfig) {
			h.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: "sneaky", Target: "/x", VolumeOptions: &mount.VolumeOptions{
				DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "none", "o": "bind", "device": "/"}}}}}
		}, `volume "sneaky" with driver options`},
		{"npipe", func(h *container.HostConfig) {
			h.Mounts = []mount.Mount{{Type: mount.TypeNamedPipe, Source: `\\.\pipe\docker_engine`}}
		}, `mount type "npipe"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hc := safe()
			c.mod(hc)
			err := checkHostConfig(hc, roots)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("checkHostConfig = %v, want ErrUnsafe mentioning %q", err, c.want)
			}
		})
	}
	// Everything at once is reported at once.
	hc := safe()
	hc.Privileged, hc.CapAdd, hc.PidMode = true, []string{"ALL"}, "host"
	if err := checkHostConfig(hc, roots); err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("three problems reported as %v", err)
	}
	// No roots: no host bind at all; named volumes still fine.
	if err := checkHostConfig(&container.HostConfig{Binds: []string{filepath.Join(data, "app") + ":/d"}}, policy.Paths{}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("bind without roots = %v", err)
	}
	if err := checkHostConfig(&container.HostConfig{Binds: []string{"vol:/d"}}, policy.Paths{}); err != nil {
		t.Errorf("named volume without roots = %v", err)
	}
}

// pullEngine records pulls and has the images of local; any other engine
// call panics (nil interface).
type pullEngine struct {
	Engine
	pulls []string
	auths []string
	local map[string]bool
}

func (e *pullEngine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	if e.local[ref] {
		return image.InspectResponse{ID: "sha256:local"}, nil
	}
	return image.InspectResponse{}, cerrdefs.ErrNotFound
}

// TestPullSkipsADigestTheEngineHas: a ref by digest already present is
// not pulled again (the registry would only confirm it); a tag always is.
func TestPullSkipsADigestTheEngineHas(t *testing.T) {
	ref := "ghcr.io/acme/web@sha256:" + strings.Repeat("b", 64)
	eng := &pullEngine{local: map[string]bool{ref: true, "ghcr.io/acme/web:v1": true}}
	h := New(eng)
	if d, err := h.Pull(context.Background(), ref, ""); err != nil || d != "sha256:"+strings.Repeat("b", 64) {
		t.Fatalf("Pull of a local digest = %q, %v", d, err)
	}
	if len(eng.pulls) != 0 {
		t.Fatalf("the engine was asked to pull %v", eng.pulls)
	}
	_, _ = h.Pull(context.Background(), "ghcr.io/acme/web:v1", "")
	if len(eng.pulls) != 1 {
		t.Fatalf("pulls %v, want a tag pulled even when present (it may have moved)", eng.pulls)
	}
}

func (e *pullEngine) ImagePull(_ context.Context, ref string, o image.PullOptions) (io.ReadCloser, error) {
	e.pulls = append(e.pulls, ref)
	e.auths = append(e.auths, o.RegistryAuth)
	return io.NopCloser(strings.NewReader(`{"status":"done"}`)), nil
}

func TestPullRefusedBeforeTheEngine(t *testing.T) {
	eng := &pullEngine{}
	h := New(eng)
	var err error
	if h.Images, err = policy.ParseImages([]string{"ghcr.io/acme"}); err != nil {
		t.Fatal(err)
	}
	_, err = h.Pull(context.Background(), "docker.io/evil/miner:latest", "")
	if !errors.Is(err, policy.ErrImageNotAllowed) || !strings.HasPrefix(err.Error(), "pull docker.io/evil/miner:latest: ") {
		t.Fatalf("Pull outside the allow-list = %v", err)
	}
	h.Images = policy.Images{}
	h.PullAuth = func(context.Context, string, string) (registry.AuthConfig, bool, error) {
		return registry.AuthConfig{}, false, errors.New(`registry credentials "ghcr": cannot decrypt`)
	}
	if _, err := h.Pull(context.Background(), "ghcr.io/acme/web@sha256:"+strings.Repeat("a", 64), "ghcr"); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Fatalf("Pull with unreadable credentials = %v", err)
	}
	if len(eng.pulls) != 0 {
		t.Fatalf("the engine was asked to pull %v", eng.pulls)
	}
	h.PullAuth = func(_ context.Context, creds, ref string) (registry.AuthConfig, bool, error) {
		if creds != "ghcr" { // the name Pull was given reaches the hook
			return registry.AuthConfig{}, false, nil
		}
		return registry.AuthConfig{Username: "bot", Password: "tok"}, true, nil
	}
	if _, err := h.Pull(context.Background(), "ghcr.io/acme/web@sha256:"+strings.Repeat("a", 64), "ghcr"); err != nil {
		t.Fatal(err)
	}
	want, _ := registry.EncodeAuthConfig(registry.AuthConfig{Username: "bot", Password: "tok"})
	if len(eng.auths) != 1 || eng.auths[0] != want {
		t.Fatalf("X-Registry-Auth = %v, want %s", eng.auths, want)
	}
}
