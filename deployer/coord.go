package deployer

import (
	"context"
	"time"
)

// Lease is one grant of a workload's deploy lock. Epoch grows with every
// grant of that workload's lock; Token is unique to the grant. Together
// they are the fence: a write carrying a lease is refused once a newer
// lease of the workload was granted.
type Lease struct {
	Workload string `json:"workload"`
	Token    string `json:"token"`
	Epoch    int64  `json:"epoch"`
}

// Writes is one atomic batch of state changes made under a lease: the
// route switch, instance records and the deploy journal move together, or
// not at all.
type Writes struct {
	Instances       []Instance
	DeleteInstances []Instance // by ID; Workload names the index
	// Refresh updates instance records only where they still exist: a
	// reconcile pass's view of Docker may be older than a drain's Forget
	// of the same record, and must not bring it back.
	Refresh      []Instance
	Routes       []Route
	DeleteRoutes []Route // by ID; Workload names the index
	Journal      *Journal
	CloseJournal string // id of a journal to delete
}

func (w Writes) empty() bool {
	return len(w.Instances)+len(w.DeleteInstances)+len(w.Refresh)+len(w.Routes)+len(w.DeleteRoutes) == 0 &&
		w.Journal == nil && w.CloseJournal == ""
}

// Coordinator is what lets several sidecars share one state store safely:
// per-workload locks with a fencing epoch, fenced writes, and the journal
// of deploys in flight. redisstore implements it; NewLocalCoordinator is
// the in-process one, for a single sidecar and tests. Config.Coord names
// the one an engine uses.
type Coordinator interface {
	// TryLock grants workload's lock for ttl if it is free, with an epoch
	// higher than any earlier grant of that workload. ok is false when
	// another lease holds it.
	TryLock(ctx context.Context, workload, owner string, ttl time.Duration) (l Lease, ok bool, err error)
	// Renew extends l by ttl. It fails with ErrLockLost once a newer lease
	// of the workload exists; a lease that merely expired with no newer
	// grant is taken back.
	Renew(ctx context.Context, l Lease, ttl time.Duration) error
	// Unlock releases l if it still holds the lock (compare-and-delete).
	Unlock(ctx context.Context, l Lease) error
	// Commit applies w atomically if l is still the newest lease of its
	// workload, and fails with ErrFenced otherwise.
	Commit(ctx context.Context, l Lease, w Writes) error
	// Journals returns the journals of every deploy not yet finished.
	Journals(ctx context.Context) ([]Journal, error)
	// Forget applies w's DeleteInstances and CloseJournal without a fence,
	// and refuses any other write: the records of containers that are gone
	// and a journal whose work is done are facts no lease holder can
	// contradict. The background drain uses it, so it never waits for the
	// workload's lock (held by the next deploy meanwhile).
	Forget(ctx context.Context, workload string, w Writes) error
}
