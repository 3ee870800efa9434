package deployer

import (
	"context"
	"time"
)

// Docker is what the deployer needs from the Docker Engine. The real one
// lives in package dockerhost; tests use small fakes.
type Docker interface {
	// Pull pulls ref with the stored registry credentials named registry
	// (the workload's registry label; "" = anonymous), reading the whole
	// progress stream; any error in the stream fails the pull. It returns
	// the repository digest the ref resolved to ("" when the engine
	// reports none).
	Pull(ctx context.Context, ref, registry string) (digest string, err error)
	// EnsureNetwork creates the bridge network if it does not exist.
	EnsureNetwork(ctx context.Context, name string) error
	// Create creates (but does not start) a container and returns its id.
	Create(ctx context.Context, spec ContainerSpec) (id string, err error)
	// Start starts a created container.
	Start(ctx context.Context, id string) error
	// Inspect returns the current view of one container.
	Inspect(ctx context.Context, id string) (Container, error)
	// Stop stops a container, giving it grace to finish in-flight work.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove force-removes a container; a container already gone is not an error.
	Remove(ctx context.Context, id string) error
	// List returns every container (running or not) carrying all the given
	// labels, in one Engine call.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
	// Wait blocks until the started container stops running, or ctx ends,
	// and returns its exit code (a release command's).
	Wait(ctx context.Context, id string) (exitCode int, err error)
	// Output returns what the container wrote to stdout and stderr, at
	// most the last limit bytes (cut at a line start when it can be).
	Output(ctx context.Context, id string, limit int) (string, error)
}

// Proxy switches public routes. Implementations live in proxyplug/*.
type Proxy interface {
	// Upsert creates the route or replaces it in place, atomically, so the
	// host is never unrouted.
	Upsert(ctx context.Context, r Route) error
	// Delete removes a route; a route already gone is not an error.
	Delete(ctx context.Context, r Route) error
}

// Store keeps instances, routes and the deploy history. The real one is
// package redisstore.
type Store interface {
	PutInstance(ctx context.Context, in Instance) error
	DeleteInstance(ctx context.Context, id string) error
	// Instances returns the instances of one workload, or of all workloads
	// when workload is "".
	Instances(ctx context.Context, workload string) ([]Instance, error)

	PutRoute(ctx context.Context, r Route) error
	DeleteRoute(ctx context.Context, id string) error
	// Routes returns the routes of one workload, or all when workload is "".
	Routes(ctx context.Context, workload string) ([]Route, error)

	// AppendEvent records one outcome in the workload's history.
	AppendEvent(ctx context.Context, workload string, ev Event) error
}

// HealthChecker waits until a probe of a container passes (an HTTP
// answer of a healthy code, or a TCP connection), or fails with
// ErrUnhealthy when ctx ends. Prober is the real one.
type HealthChecker interface {
	WaitHealthy(ctx context.Context, p Probe) error
}
