package dockerhost

import (
	"github.com/docker/docker/api/types/container"

	"github.com/tinyforge/tinyforge/policy"
)

// CheckHostConfig is the policy Create applies before every container
// create, exported so that other engines (swarmhost builds a service's
// container spec) refuse exactly what Create refuses. The error wraps
// ErrUnsafe and lists every problem.
func CheckHostConfig(hc *container.HostConfig, roots policy.Paths) error {
	return checkHostConfig(hc, roots)
}
