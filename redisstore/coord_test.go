package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
)

func TestLockFencesOlderLeases(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "")
	const ttl = 200 * time.Millisecond

	a, ok, err := s.TryLock(ctx, "web", "a", ttl)
	must(t, err)
	if !ok || a.Epoch <= 0 || !strings.HasPrefix(a.Token, "a/") {
		t.Fatalf("first lock = %+v, %v", a, ok)
	}
	if _, ok, _ := s.TryLock(ctx, "web", "b", ttl); ok {
		t.Fatal("lock granted while held")
	}
	if _, ok, _ := s.TryLock(ctx, "api", "b", ttl); !ok {
		t.Fatal("the lock of another workload is independent")
	}
	must(t, s.Commit(ctx, a, deployer.Writes{Routes: []deployer.Route{route("r1", "web")}}))

	// Expired, nobody took it: the holder's fence is still the newest.
	time.Sleep(ttl + 100*time.Millisecond)
	must(t, s.Renew(ctx, a, ttl))
	if _, ok, _ := s.TryLock(ctx, "web", "b", ttl); ok {
		t.Fatal("renewal after expiry did not take the lock back")
	}

	// Expired and taken by b: a is fenced out.
	time.Sleep(ttl + 100*time.Millisecond)
	b, ok, err := s.TryLock(ctx, "web", "b", ttl)
	must(t, err)
	if !ok || b.Epoch <= a.Epoch {
		t.Fatalf("second lease = %+v %v, want an epoch above %d", b, ok, a.Epoch)
	}
	stale := route("r1", "web")
	stale.Upstream = "10.6.6.6:80"
	err = s.Commit(ctx, a, deployer.Writes{Routes: []deployer.Route{stale}, Instances: []deployer.Instance{inst("x", "web", t0)}})
	if !errors.Is(err, deployer.ErrFenced) {
		t.Fatalf("commit with the stale lease = %v, want ErrFenced", err)
	}
	routes, err := s.Routes(ctx, "web")
	must(t, err)
	equal(t, "routes after a fenced commit", routes, []deployer.Route{route("r1", "web")})
	ins, err := s.Instances(ctx, "web")
	must(t, err)
	equal(t, "instances after a fenced commit", len(ins), 0)
	if err := s.Renew(ctx, a, ttl); !errors.Is(err, deployer.ErrLockLost) {
		t.Fatalf("renew of the stale lease = %v, want ErrLockLost", err)
	}
	must(t, s.Unlock(ctx, a)) // compare-and-delete: b keeps the lock
	if _, ok, _ := s.TryLock(ctx, "web", "c", ttl); ok {
		t.Fatal("the stale holder's unlock released the newer lease")
	}
	must(t, s.Unlock(ctx, b))
	c, ok, err := s.TryLock(ctx, "web", "c", ttl)
	must(t, err)
	if !ok || c.Epoch != b.Epoch+1 {
		t.Fatalf("lease after unlock = %+v %v, want epoch %d", c, ok, b.Epoch+1)
	}
}

func TestConcurrentTryLockGrantsOne(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	var granted atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		s := newStore(t, srv, "") // one client each, as separate sidecars
		wg.Go(func() {
			_, ok, err := s.TryLock(ctx, "web", "x", time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := granted.Load(); n != 1 {
		t.Fatalf("%d leases granted at once, want 1", n)
	}
}

func TestEpochKeepsGrowingAfterRedisLostItsData(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "")
	a, _, err := s.TryLock(ctx, "web", "a", time.Minute)
	must(t, err)
	must(t, s.Client().FlushAll(ctx).Err())
	time.Sleep(5 * time.Millisecond) // the seed is Redis' clock in ms
	b, ok, err := s.TryLock(ctx, "web", "b", time.Minute)
	must(t, err)
	if !ok || b.Epoch <= a.Epoch {
		t.Fatalf("epoch after FLUSHALL = %d, want above %d", b.Epoch, a.Epoch)
	}
	// The lost fence refuses the old holder too.
	if err := s.Commit(ctx, a, deployer.Writes{}); !errors.Is(err, deployer.ErrFenced) {
		t.Fatalf("old lease after the flush = %v, want ErrFenced", err)
	}
}

func TestCommitWritesOneBatch(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "")
	l, _, err := s.TryLock(ctx, "web", "a", time.Minute)
	must(t, err)
	old, cur := inst("old", "web", t0), inst("new", "web", t0.Add(time.Second))
	j := deployer.Journal{ID: "d1", Workload: "web", Step: deployer.StepSwitching, Container: "new",
		Previous: []deployer.Route{route("r1", "web")}, Epoch: l.Epoch, Started: t0}
	must(t, s.Commit(ctx, l, deployer.Writes{
		Instances: []deployer.Instance{old, cur},
		Routes:    []deployer.Route{route("r1", "web"), route("r2", "web")},
		Journal:   &j,
	}))
	js, err := s.Journals(ctx)
	must(t, err)
	equal(t, "journals", js, []deployer.Journal{j})

	must(t, s.Commit(ctx, l, deployer.Writes{
		DeleteInstances: []deployer.Instance{{ID: "old", Workload: "web"}, {ID: "never-was"}},
		DeleteRoutes:    []deployer.Route{{ID: "r2", Workload: "web"}},
		CloseJournal:    "d1",
	}))
	ins, err := s.Instances(ctx, "web")
	must(t, err)
	equal(t, "instances", ins, []deployer.Instance{cur})
	routes, err := s.Routes(ctx, "")
	must(t, err)
	equal(t, "routes", routes, []deployer.Route{route("r1", "web")})
	js, err = s.Journals(ctx)
	must(t, err)
	equal(t, "journals after close", len(js), 0)

	if err := s.Commit(ctx, l, deployer.Writes{Instances: []deployer.Instance{inst("", "web", t0)}}); err == nil {
		t.Fatal("instance without id committed")
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	for _, k := range []string{"lock:web", "epoch:web", "fence:web"} {
		if n, _ := c.Exists(ctx, "tinyforge:"+k).Result(); n != 1 {
			t.Errorf("key tinyforge:%s missing from the documented layout", k)
		}
	}
}

// BenchmarkFencedSwitchCommit measures the commit of one route switch
// (two routes, the instance, the journal) through the fencing script on a
// real redis-server over loopback.
func BenchmarkFencedSwitchCommit(b *testing.B) {
	ctx := context.Background()
	srv := testsvc.Redis(b)
	s := redisstore.New(redis.NewClient(&redis.Options{Addr: srv.Addr}), "")
	b.Cleanup(func() { _ = s.Close() })
	l, _, err := s.TryLock(ctx, "web", "bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	j := deployer.Journal{ID: "d1", Workload: "web", Step: deployer.StepSwitched, Container: "new", Epoch: l.Epoch, Started: t0,
		Previous: []deployer.Route{route("r1", "web"), route("r2", "web")}, Routes: []deployer.Route{route("r1", "web"), route("r2", "web")}}
	w := deployer.Writes{Routes: j.Routes, Instances: []deployer.Instance{inst("new", "web", t0)}, Journal: &j}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Commit(ctx, l, w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLockCycle measures a lock grant and its release, what every
// deploy and every reconcile pass with work pays per workload.
func BenchmarkLockCycle(b *testing.B) {
	ctx := context.Background()
	srv := testsvc.Redis(b)
	s := redisstore.New(redis.NewClient(&redis.Options{Addr: srv.Addr}), "")
	b.Cleanup(func() { _ = s.Close() })
	b.ReportAllocs()
	for b.Loop() {
		l, ok, err := s.TryLock(ctx, "web", "bench", time.Minute)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if err := s.Unlock(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
}

// TestForgetNeedsNoLease: a drain forgets the records of the containers it
// removed and closes its journal while another lease holds the lock, and
// nothing else can be written that way.
func TestForgetNeedsNoLease(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	a, _, err := s.TryLock(ctx, "web", "a", time.Minute)
	must(t, err)
	must(t, s.Commit(ctx, a, deployer.Writes{
		Instances: []deployer.Instance{inst("old", "web", t0), inst("new", "web", t0)},
		Journal:   &deployer.Journal{ID: "d1", Workload: "web", Step: deployer.StepWatched},
	}))
	must(t, s.Unlock(ctx, a))
	b, _, err := s.TryLock(ctx, "web", "b", time.Minute) // the next deploy holds the lock
	must(t, err)

	must(t, s.Forget(ctx, "web", deployer.Writes{DeleteInstances: []deployer.Instance{{ID: "old", Workload: "web"}}, CloseJournal: "d1"}))
	ins, err := s.Instances(ctx, "web")
	must(t, err)
	if len(ins) != 1 || ins[0].ID != "new" {
		t.Fatalf("instances after Forget = %+v, want only new", ins)
	}
	if js, err := s.Journals(ctx); err != nil || len(js) != 0 {
		t.Fatalf("journals after Forget = %+v, %v", js, err)
	}
	if err := s.Forget(ctx, "web", deployer.Writes{Routes: []deployer.Route{route("r1", "web")}}); err == nil {
		t.Fatal("Forget wrote a route without a lease")
	}
	must(t, s.Commit(ctx, b, deployer.Writes{})) // the lock holder's lease is untouched
}

// TestRefreshNeverBringsBackAForgottenRecord: a reconcile pass read the
// records, a drain then forgot one (its container removed), and the pass
// commits what Docker told it: the existing record takes the new state,
// the forgotten one stays forgotten.
func TestRefreshNeverBringsBackAForgottenRecord(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	a, _, err := s.TryLock(ctx, "web", "a", time.Minute)
	must(t, err)
	must(t, s.Commit(ctx, a, deployer.Writes{Instances: []deployer.Instance{inst("old", "web", t0), inst("new", "web", t0)}}))
	must(t, s.Forget(ctx, "web", deployer.Writes{DeleteInstances: []deployer.Instance{{ID: "old", Workload: "web"}}}))

	old, cur := inst("old", "web", t0), inst("new", "web", t0)
	old.State, cur.State = deployer.StateExited, deployer.StateExited
	must(t, s.Commit(ctx, a, deployer.Writes{Refresh: []deployer.Instance{old, cur}}))
	ins, err := s.Instances(ctx, "web")
	must(t, err)
	if len(ins) != 1 || ins[0].ID != "new" || ins[0].State != deployer.StateExited {
		t.Fatalf("instances after the refresh = %+v, want only new, exited", ins)
	}
	if err := s.Forget(ctx, "web", deployer.Writes{Refresh: []deployer.Instance{cur}}); err == nil {
		t.Fatal("Forget refreshed a record without a lease")
	}
}
