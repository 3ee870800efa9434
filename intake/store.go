package intake

import (
	"context"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/redisstore"
)

// Store is what intake needs from the state store (redisstore.Store): the
// history it records outcomes in and the durable inbox.
type Store interface {
	EventStore
	InboxStore
	PendingStore
}

// PendingStore keeps the deliveries waiting for approval, one per
// workload (see redisstore.Pending).
type PendingStore interface {
	HoldPending(ctx context.Context, p redisstore.Pending) (old *redisstore.Pending, stored bool, err error)
	PendingApproval(ctx context.Context, workload string) (redisstore.Pending, bool, error)
	PendingApprovals(ctx context.Context) (map[string]redisstore.Pending, error)
	SettlePending(ctx context.Context, p redisstore.Pending, ev deployer.Event, entry *redisstore.InboxEntry) (bool, error)
}

// EventStore records deliveries: accepted pushes go to the inbox and the
// history in one round trip; refusals and outcomes go to the history.
type EventStore interface {
	Accept(ctx context.Context, ttl time.Duration, intakes []redisstore.Intake, global []deployer.Event) ([]bool, error)
	AppendGlobalEvent(ctx context.Context, ev deployer.Event) error
	AppendEvent(ctx context.Context, workload string, ev deployer.Event) error
}

// InboxStore is the durable inbox as its consumer group reads it, and
// as the operations that are not pushes are written to it.
type InboxStore interface {
	EnsureInbox(ctx context.Context) error
	Heartbeat(ctx context.Context, consumer string, ttl time.Duration) error
	OwnPending(ctx context.Context, consumer string) ([]redisstore.InboxEntry, error)
	ClaimDead(ctx context.Context, consumer string) ([]redisstore.InboxEntry, error)
	ReadInbox(ctx context.Context, consumer string, n int64, block time.Duration) ([]redisstore.InboxEntry, error)
	AckInbox(ctx context.Context, ids ...string) error
	// Enqueue appends an operation that is not a push (rollback, teardown,
	// converge) and returns its id.
	Enqueue(ctx context.Context, e redisstore.InboxEntry) (string, error)
	// AdmitPush keeps push order per workload (see redisstore.Store.AdmitPush).
	AdmitPush(ctx context.Context, workload string, at time.Time, tag string) (bool, string, error)
}
