package swarmhost

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
)

// PreflightAPI is what the start checks need from the engine;
// *client.Client has it.
type PreflightAPI interface {
	Info(ctx context.Context) (system.Info, error)
	NetworkInspect(ctx context.Context, id string, opts network.InspectOptions) (network.Inspect, error)
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
}

// CheckManager fails unless the engine is an active manager of a swarm:
// only managers accept service calls.
func CheckManager(ctx context.Context, api PreflightAPI) error {
	info, err := api.Info(ctx)
	if err != nil {
		return fmt.Errorf("swarm engine: engine info: %w", err)
	}
	s := info.Swarm
	switch {
	case s.LocalNodeState != swarm.LocalNodeStateActive:
		return fmt.Errorf("swarm engine: the Docker engine is not in a swarm (state %q): run `docker swarm init`, or use --engine docker", s.LocalNodeState)
	case !s.ControlAvailable:
		return fmt.Errorf("swarm engine: node %s is a swarm worker: the sidecar must run on a manager node (constraint node.role==manager)", short(s.NodeID))
	}
	return nil
}

// CheckNetwork fails unless name is an attachable overlay network that
// the container self (the sidecar's; see SelfContainer) is attached to:
// the sidecar health-checks every task by its address on that network,
// which only a member of the network reaches. A network that does not
// exist yet is an error too, since the sidecar could not be attached to it.
func CheckNetwork(ctx context.Context, api PreflightAPI, name, self string) error {
	n, err := api.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("swarm engine: --network %s does not exist: create it (docker network create -d overlay --attachable %s) and attach the sidecar to it", name, name)
	}
	if err != nil {
		return fmt.Errorf("swarm engine: inspect --network %s: %w", name, err)
	}
	if n.Name != name {
		return fmt.Errorf("swarm engine: --network %s names network %s (%s): give its exact name", name, n.Name, short(n.ID))
	}
	if n.Driver != "overlay" || n.Scope != "swarm" || !n.Attachable {
		return fmt.Errorf("swarm engine: --network %s is not an attachable overlay (driver %q, scope %q, attachable %t): services and the sidecar must share one", name, n.Driver, n.Scope, n.Attachable)
	}
	if self == "" {
		return fmt.Errorf("swarm engine: the sidecar does not run in a container: it must run in one attached to --network %s, to reach the tasks it health-checks", name)
	}
	c, err := api.ContainerInspect(ctx, self)
	if err != nil {
		return fmt.Errorf("swarm engine: inspect the sidecar's own container %s: %w", short(self), err)
	}
	if c.NetworkSettings == nil || c.NetworkSettings.Networks[name] == nil {
		return fmt.Errorf("swarm engine: the sidecar's container %s is not attached to --network %s: list the network under its networks", short(self), name)
	}
	return nil
}

// containerIDRe finds the container id in the path of the hostname file
// the engine bind-mounts into every container.
var containerIDRe = regexp.MustCompile(`/containers/([0-9a-f]{64})/hostname`)

// SelfContainer returns the id of the container this process runs in,
// read from its mounts (the engine mounts …/containers/<id>/hostname into
// every container, with cgroup v1 or v2), or "" outside a container.
func SelfContainer() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	return selfContainer(f)
}

func selfContainer(mountinfo io.Reader) string {
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		if m := containerIDRe.FindStringSubmatch(sc.Text()); m != nil {
			return m[1]
		}
	}
	return ""
}

// Preflight runs the start checks of a sidecar on this host's engine:
// CheckManager, then CheckNetwork for network and the container the
// sidecar runs in (SelfContainer).
func (h *Host) Preflight(ctx context.Context, network string) error {
	api, ok := h.engine.(PreflightAPI)
	if !ok {
		return fmt.Errorf("swarm engine: the engine client cannot run the start checks")
	}
	if err := CheckManager(ctx, api); err != nil {
		return err
	}
	return CheckNetwork(ctx, api, network, SelfContainer())
}
