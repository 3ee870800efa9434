package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
)

// TestEnqueueKinds: rollbacks and teardowns go into the same stream as
// deliveries and come back in arrival order with their kind and target;
// an entry written before kinds existed reads as a delivery (kind "").
func TestEnqueueKinds(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "k:")
	must(t, s.EnsureInbox(ctx))
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = raw.Close() })
	old := `{"workload":"web","tag":"v4","digest":"sha256:44","image":"reg/web","source":"distribution","received":"2025-01-02T03:04:05Z"}`
	must(t, raw.XAdd(ctx, &redis.XAddArgs{Stream: "k:inbox", Values: []any{"entry", old}}).Err())

	rb := redisstore.InboxEntry{Kind: deployer.KindRollback, Workload: "web", Image: "reg/web:v1", Tag: "v1", Digest: "sha256:11", Source: "rollback", Received: t0}
	rbID, err := s.Enqueue(ctx, rb)
	must(t, err)
	_, err = s.Enqueue(ctx, redisstore.InboxEntry{Kind: deployer.KindTeardown, Workload: "web", Source: "api", Received: t0})
	must(t, err)

	got, err := s.ReadInbox(ctx, "c1", 10, time.Millisecond)
	must(t, err)
	equal(t, "entries", len(got), 3)
	equal(t, "old entry kind", got[0].Kind, deployer.Kind(""))
	equal(t, "old entry tag", got[0].Tag, "v4")
	rb.ID = rbID
	equal(t, "rollback entry", got[1], rb)
	equal(t, "teardown kind", got[2].Kind, deployer.KindTeardown)

	if _, err := s.Enqueue(ctx, redisstore.InboxEntry{Kind: "explode", Workload: "web"}); err == nil || !strings.Contains(err.Error(), `unknown operation kind "explode"`) {
		t.Errorf("bad kind: err = %v", err)
	}
	if _, err := s.Enqueue(ctx, redisstore.InboxEntry{Kind: deployer.KindTeardown}); err == nil || !strings.Contains(err.Error(), "empty workload") {
		t.Errorf("no workload: err = %v", err)
	}
	n, err := s.InboxLen(ctx)
	must(t, err)
	equal(t, "inbox length after refused entries", n, int64(3))
}
