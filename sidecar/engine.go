package sidecar

import (
	"context"
	"fmt"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/swarmhost"
)

// The engines --engine names.
const (
	EngineDocker = "docker" // one Docker host: a version is a container
	EngineSwarm  = "swarm"  // a swarm manager: a version is a service
)

// validateEngine checks --engine and what the swarm engine cannot do: it
// routes by service name over the overlay, so the proxy must dial names
// on that network (caddy, traefik-kv, npm on the overlay, or none).
func (c Config) validateEngine() error {
	switch c.Engine {
	case EngineDocker:
		return nil
	case EngineSwarm:
	default:
		return fmt.Errorf("--engine %q: want docker or swarm", c.Engine)
	}
	if c.Proxy == "traefik-labels" {
		return fmt.Errorf("--engine swarm: --proxy traefik-labels reads container labels of one host; use traefik-kv or caddy")
	}
	if publishHost(c) != "" {
		return fmt.Errorf("--engine swarm: a remote NPM (--npm-remote) dials published ports of one host; run NPM on the overlay network instead")
	}
	return nil
}

// newSwarm is the deployer's Docker on a swarm manager, after the start
// checks (the engine is a manager; --network is an attachable overlay the
// sidecar's container is on). Pulls go through docker, which resolves the
// digest and applies --allowed-images; the services get the same
// credentials, bind roots and network labels.
func newSwarm(ctx context.Context, cfg Config, docker *dockerhost.Host) (*swarmhost.Host, error) {
	h, err := swarmhost.FromEnv()
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := h.Preflight(cctx, cfg.Network); err != nil {
		_ = h.Close()
		return nil, err
	}
	h.Puller = docker
	h.PullAuth = docker.PullAuth
	h.BindRoots = docker.BindRoots
	h.NetworkLabels = docker.NetworkLabels
	return h, nil
}

// engineDocker is what the deployer deploys with under cfg: docker
// itself, or the swarm manager.
func engineDocker(sw *swarmhost.Host, docker *dockerhost.Host) deployer.Docker {
	if sw != nil {
		return sw
	}
	return docker
}
