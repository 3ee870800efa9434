package intake

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testlog"
	"github.com/tinyforge/tinyforge/redisstore"
)

// rollbackTo is the inbox entry the management API stores for a rollback.
func rollbackTo(tag, digest string) redisstore.InboxEntry {
	return redisstore.InboxEntry{Kind: deployer.KindRollback, Workload: "demo", Image: "127.0.0.1:5000/demo:" + tag,
		Tag: tag, Digest: digest, Source: "rollback"}
}

// TestRollbackSupersedesPendingDelivery: a rollback stored while v3
// deploys and v4 waits runs right after v3; v4 never runs, is recorded as
// superseded, and every entry leaves the inbox.
func TestRollbackSupersedesPendingDelivery(t *testing.T) {
	f := newHookFixture(t, demo())
	f.gate = make(chan struct{})
	gate := sync.OnceFunc(func() { close(f.gate) })
	t.Cleanup(gate) // a failed test must not leave a deploy waiting
	f.consume()
	t0 := time.Now()
	if status, _, raw := f.postDist(distPush("e3", "v3", t0)); status != 202 {
		t.Fatal(raw)
	}
	<-f.started // v3 deploys
	if status, _, raw := f.postDist(distPush("e4", "v4", t0.Add(time.Millisecond))); status != 202 {
		t.Fatal(raw)
	}
	if err := f.in.Enqueue(context.Background(), rollbackTo("v1", "sha256:11")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "v4 and the rollback read", func() bool { return f.pendingReads() == 3 })
	gate()
	f.waitDeployed(2)
	time.Sleep(200 * time.Millisecond) // nothing else may run
	got := f.deployedNow()
	if len(got) != 2 || got[0].Tag != "v3" || got[1].Kind != deployer.KindRollback || got[1].Digest != "sha256:11" {
		t.Fatalf("ran %v, want v3 then the rollback to v1", describe(got))
	}
	if sup := got[1].Superseded; len(sup) != 1 || sup[0].Tag != "v4" || len(sup[0].Entries) != 1 {
		t.Fatalf("rollback superseded %v, want the v4 delivery", describe(sup))
	}
	eventually(t, "every entry acknowledged", func() bool { return f.inboxLen() == 0 })
	var superseded []deployer.Event
	for _, ev := range f.history("demo") {
		if strings.HasPrefix(ev.Outcome, OutcomeSuperseded+": by the rollback") {
			superseded = append(superseded, ev)
		}
	}
	if len(superseded) != 1 || superseded[0].Tag != "v4" || superseded[0].Delivery != "e4" {
		t.Fatalf("superseded records %+v, want one for the v4 push", superseded)
	}
}

// TestRestartRebuildsTheOrder: a sidecar reads v3 (deploying), v4 and a
// rollback, and dies before finishing any. The next one finds them in
// stream order and takes the same decisions: whatever else runs, the
// rollback runs last and v4 never does.
func TestRestartRebuildsTheOrder(t *testing.T) {
	f := newHookFixture(t, demo())
	f.gate = make(chan struct{})
	gate := sync.OnceFunc(func() { close(f.gate) })
	t.Cleanup(gate) // a failed test must not leave a deploy waiting
	f.consume()
	t0 := time.Now()
	if status, _, raw := f.postDist(distPush("e3", "v3", t0)); status != 202 {
		t.Fatal(raw)
	}
	<-f.started
	if status, _, raw := f.postDist(distPush("e4", "v4", t0.Add(time.Millisecond))); status != 202 {
		t.Fatal(raw)
	}
	if err := f.in.Enqueue(context.Background(), rollbackTo("v1", "sha256:11")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "all three read", func() bool { return f.pendingReads() == 3 })
	// The process dies: its consumer stops, its queue is cancelled under
	// the deploy in flight, which then acknowledges nothing.
	f.stopConsumer()
	closed := make(chan struct{})
	go func() { f.queue.Close(0); close(closed) }()

	g := &hookFixture{t: t, redis: f.redis, logs: &testlog.Buffer{}, started: make(chan deployer.Request, 10)}
	g.newIntake(f.in.cfg, redisstore.New(redis.NewClient(&redis.Options{Addr: f.redis.Addr}), ""), demo())
	t.Cleanup(func() { g.queue.Close(time.Second); _ = g.store.Close() })
	g.consume()
	eventually(t, "every entry acknowledged", func() bool { return g.inboxLen() == 0 })
	gate()
	<-closed
	time.Sleep(100 * time.Millisecond)
	got := g.deployedNow()
	if len(got) == 0 || got[len(got)-1].Kind != deployer.KindRollback {
		t.Fatalf("after restart ran %v, want the rollback last", describe(got))
	}
	if slices.ContainsFunc(got, func(r deployer.Request) bool { return r.Tag == "v4" }) {
		t.Fatalf("after restart ran %v: v4 was superseded by the rollback", describe(got))
	}
	if f.inboxLen() != 0 {
		t.Fatal("the dead process's deploy acknowledged or re-added entries")
	}
}

// pendingReads is how many inbox entries consumers read and did not
// acknowledge yet.
func (f *hookFixture) pendingReads() int64 {
	c := redis.NewClient(&redis.Options{Addr: f.redis.Addr})
	defer c.Close()
	p, err := c.XPending(context.Background(), redisstore.DefaultPrefix+"inbox", redisstore.InboxGroup).Result()
	if err != nil {
		return -1
	}
	return p.Count
}

func describe(rs []deployer.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Kind)+":"+r.Tag+"["+strings.Join(r.Entries, ",")+"]")
	}
	return out
}
