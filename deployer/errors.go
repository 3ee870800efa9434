package deployer

import "errors"

// Sentinels callers check with errors.Is.
var (
	// ErrNoNetwork: the sidecar has no Docker network configured.
	ErrNoNetwork = errors.New("no docker network configured")
	// ErrUnhealthy: the new container never passed its health check.
	ErrUnhealthy = errors.New("health check failed")
	// ErrReleaseFailed: the release command did not exit 0 in time.
	ErrReleaseFailed = errors.New("release command failed")
	// ErrUnknownWorkload: a request names a workload no controller declares.
	ErrUnknownWorkload = errors.New("unknown workload")
	// ErrClosed: the queue is shutting down and takes no more requests.
	ErrClosed = errors.New("deploy queue closed")
)

// Sentinels of the shared-state protocol (lock, fence, journal).
var (
	// ErrFenced: a write carried a lease older than the newest one of its
	// workload, so it was refused; the deploy that made it has been
	// superseded and must not touch routes again.
	ErrFenced = errors.New("fenced: a newer deploy lease exists")
	// ErrLockLost: a lease could not be renewed because a newer one exists.
	ErrLockLost = errors.New("deploy lock lost to a newer lease")
	// ErrWatchFailed: the new container failed during the post-switch watch.
	ErrWatchFailed = errors.New("post-switch watch failed")
	// errSuperseded: a newer request ended the post-switch watch early.
	errSuperseded = errors.New("post-switch watch superseded by a newer request")
	// ErrNoRollback: the history holds no earlier successful image to go back to.
	ErrNoRollback = errors.New("no earlier successful deploy to roll back to")
)
