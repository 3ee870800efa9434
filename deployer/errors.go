package deployer

import "errors"

// Sentinels callers check with errors.Is.
var (
	// ErrNoNetwork: the sidecar has no Docker network configured.
	ErrNoNetwork = errors.New("no docker network configured")
	// ErrUnhealthy: the new container never passed its health check.
	ErrUnhealthy = errors.New("health check failed")
	// ErrUnknownWorkload: a request names a workload no controller declares.
	ErrUnknownWorkload = errors.New("unknown workload")
	// ErrClosed: the queue is shutting down and takes no more requests.
	ErrClosed = errors.New("deploy queue closed")
)
