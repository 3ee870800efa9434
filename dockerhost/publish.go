package dockerhost

import (
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/tinyforge/tinyforge/deployer"
)

// publish maps each of spec.Publish to an ephemeral TCP port of the Docker
// host on spec.PublishIP, for a proxy on another machine. Docker picks the
// host port; Inspect reports it.
func publish(cfg *container.Config, hostCfg *container.HostConfig, spec deployer.ContainerSpec) {
	if len(spec.Publish) == 0 {
		return
	}
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = nat.PortSet{}
	}
	hostCfg.PortBindings = nat.PortMap{}
	for _, p := range spec.Publish {
		port := nat.Port(strconv.Itoa(p) + "/tcp")
		cfg.ExposedPorts[port] = struct{}{}
		hostCfg.PortBindings[port] = []nat.PortBinding{{HostIP: spec.PublishIP, HostPort: ""}}
	}
}

// hostPorts maps published TCP container ports to their host port. With
// an unspecified bind address Docker lists an IPv4 and an IPv6 binding of
// the same port; the first one with a port is kept.
func hostPorts(pm nat.PortMap) map[int]int {
	out := map[int]int{}
	for port, bindings := range pm {
		if port.Proto() != "tcp" {
			continue
		}
		for _, b := range bindings {
			if hp, err := strconv.Atoi(b.HostPort); err == nil && hp > 0 {
				out[port.Int()] = hp
				break
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
