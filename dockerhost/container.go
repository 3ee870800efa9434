package dockerhost

import (
	"context"
	"fmt"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/tinyforge/tinyforge/deployer"
)

// Create creates the container of spec, attached to spec.Network only and
// restarted by the engine unless stopped (a one-off never), with spec's
// CPU and memory limits. Whatever built the config, checkHostConfig refuses it with
// ErrUnsafe when it would be privileged, share a host namespace, add
// capabilities or devices, or bind a path outside BindRoots; then every
// bind source is walked without following symlinks (prepareBind), its
// directories created when the mount asks for it.
func (h *Host) Create(ctx context.Context, spec deployer.ContainerSpec) (string, error) {
	cfg := &container.Config{
		Image:      spec.Image,
		Env:        spec.Env,
		Labels:     spec.Labels,
		Cmd:        spec.Cmd,
		Entrypoint: entrypoint(spec.Entrypoint),
	}
	if spec.Port > 0 {
		cfg.ExposedPorts = nat.PortSet{nat.Port(strconv.Itoa(spec.Port) + "/tcp"): {}}
	}
	hostCfg := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		Privileged:    false,
		CapAdd:        nil,
		NetworkMode:   container.NetworkMode(spec.Network),
		Resources:     container.Resources{NanoCPUs: spec.NanoCPUs, Memory: spec.MemoryBytes},
	}
	if spec.OneOff {
		hostCfg.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyDisabled}
	}
	if spec.PidsLimit > 0 {
		pids := spec.PidsLimit
		hostCfg.Resources.PidsLimit = &pids
	}
	hostCfg.Mounts = mounts(spec.Mounts)
	if err := checkHostConfig(hostCfg, h.BindRoots); err != nil {
		return "", fmt.Errorf("create container %s from %s: %w", spec.Name, spec.Image, err)
	}
	for _, m := range spec.Mounts {
		if m.Type != deployer.MountBind {
			continue
		}
		if err := prepareBind(m.Source, m.CreateDir); err != nil {
			return "", fmt.Errorf("create container %s from %s: mount %s: %w", spec.Name, spec.Image, m.Target, err)
		}
	}
	publish(cfg, hostCfg, spec)
	var netCfg *network.NetworkingConfig
	if spec.Network != "" {
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{spec.Network: {}}}
	}
	resp, err := h.engine.ContainerCreate(ctx, cfg, hostCfg, netCfg, nil, spec.Name)
	if err != nil {
		return "", fmt.Errorf("create container %s from %s: %w", spec.Name, spec.Image, err)
	}
	return resp.ID, nil
}

// entrypoint maps the spec's entrypoint: nil keeps the image's, an empty
// list clears it (the engine wants [""] for that, as docker run does).
func entrypoint(ep []string) []string {
	if ep != nil && len(ep) == 0 {
		return []string{""}
	}
	return ep
}

// mounts maps the spec's mounts, all in the Mount form, for which the
// engine never creates a missing bind source (the legacy Binds form
// would, following any symlink on the way): the sidecar creates
// tinyforge's own directories itself (prepareBind).
func mounts(ms []deployer.Mount) []mount.Mount {
	var out []mount.Mount
	for _, m := range ms {
		out = append(out, mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return out
}

// Start starts a created container.
func (h *Host) Start(ctx context.Context, id string) error {
	if err := h.engine.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", short(id), err)
	}
	return nil
}

// Stop sends the container its stop signal and kills it after grace
// (rounded up to whole seconds, the engine's unit). A container already
// gone counts as stopped.
func (h *Host) Stop(ctx context.Context, id string, grace time.Duration) error {
	secs := int((grace + time.Second - 1) / time.Second)
	if secs < 0 {
		secs = 0
	}
	err := h.engine.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", short(id), err)
	}
	return nil
}

// Remove force-removes the container and its anonymous volumes. A container
// already gone is not an error.
func (h *Host) Remove(ctx context.Context, id string) error {
	err := h.engine.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", short(id), err)
	}
	return nil
}

// short abbreviates a 64-hex container id for messages; names pass unchanged.
func short(id string) string {
	if len(id) == 64 {
		return id[:12]
	}
	return id
}
