package dockerhost

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/tinyforge/tinyforge/policy"
)

// ErrUnsafe: a container configuration would give the container power
// over the host. Create refuses it whatever asked for it.
var ErrUnsafe = errors.New("unsafe container configuration refused")

// runtimeSockets are sockets whose holder controls the host: binding one,
// or a directory above one, into a workload is refused even beneath an
// allowed path.
var runtimeSockets = []string{
	"/var/run/docker.sock", "/run/docker.sock",
	"/run/containerd/containerd.sock", "/run/podman/podman.sock",
}

// checkHostConfig is the last check before ContainerCreate: a workload
// container is never privileged; never shares the host's (or another
// container's) network, PID, IPC, UTS, user or cgroup namespace; gets no
// added capabilities, devices, unconfined security profile or other
// container's volumes; and binds no host path outside roots, a container
// runtime socket least of all. Every problem is reported at once.
func checkHostConfig(hc *container.HostConfig, roots policy.Paths) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if hc.Privileged {
		bad("privileged")
	}
	if hc.NetworkMode.IsHost() || hc.NetworkMode.IsContainer() {
		bad("network mode %q shares another network namespace", hc.NetworkMode)
	}
	if hc.PidMode.IsHost() || hc.PidMode.IsContainer() {
		bad("pid mode %q", hc.PidMode)
	}
	if hc.IpcMode.IsHost() || hc.IpcMode.IsContainer() {
		bad("ipc mode %q", hc.IpcMode)
	}
	if hc.UTSMode.IsHost() {
		bad("uts mode %q", hc.UTSMode)
	}
	if hc.UsernsMode.IsHost() {
		bad("userns mode %q", hc.UsernsMode)
	}
	if hc.CgroupnsMode.IsHost() {
		bad("cgroupns mode %q", hc.CgroupnsMode)
	}
	if len(hc.CapAdd) > 0 {
		bad("added capabilities %v", hc.CapAdd)
	}
	if len(hc.Devices) > 0 || len(hc.DeviceRequests) > 0 || len(hc.DeviceCgroupRules) > 0 {
		bad("host devices")
	}
	for _, o := range hc.SecurityOpt {
		lo := strings.ToLower(o)
		if strings.Contains(lo, "unconfined") || strings.Contains(lo, "disable") || strings.Contains(lo, "no-new-privileges=false") {
			bad("security option %q", o)
		}
	}
	if len(hc.VolumesFrom) > 0 {
		bad("volumes from other containers %v", hc.VolumesFrom)
	}
	for _, b := range hc.Binds {
		src, _, _ := strings.Cut(b, ":")
		if filepath.IsAbs(src) {
			errs = append(errs, checkBind(src, roots)...)
		}
	}
	for _, m := range hc.Mounts {
		switch m.Type {
		case mount.TypeBind:
			errs = append(errs, checkBind(m.Source, roots)...)
		case mount.TypeVolume:
			if m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil && len(m.VolumeOptions.DriverConfig.Options) > 0 {
				bad("volume %q with driver options (they can bind any host path)", m.Source)
			}
		case mount.TypeTmpfs:
		default:
			bad("mount type %q", m.Type)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUnsafe, errors.Join(errs...))
}

// checkBind refuses a host path outside roots, or one that is or contains
// a container runtime socket.
func checkBind(src string, roots policy.Paths) []error {
	resolved, err := policy.Resolve(src)
	if err != nil {
		return []error{fmt.Errorf("bind source %q: %w", src, err)}
	}
	var errs []error
	if sock := runtimeSocket(resolved); sock != "" {
		errs = append(errs, fmt.Errorf("bind source %q exposes the container runtime socket %s", src, sock))
	}
	if _, err := roots.Check(src); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// runtimeSocket returns the runtime socket path is, or lies beneath path
// (a directory), or "" when there is none.
func runtimeSocket(path string) string {
	dir := strings.TrimSuffix(path, "/") + "/"
	for _, sock := range runtimeSockets {
		if path == sock || strings.HasPrefix(sock, dir) {
			return sock
		}
	}
	if base := filepath.Base(path); strings.HasSuffix(base, ".sock") &&
		(strings.Contains(base, "docker") || strings.Contains(base, "containerd") || strings.Contains(base, "podman")) {
		return path
	}
	return ""
}
