package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
)

// TestAdmitPushSurvivesRestart: the newest push time of a workload is kept
// in Redis, so a store opened afresh (a restarted sidecar, or a sibling on
// the same Redis) still refuses an older push and names the newer tag.
func TestAdmitPushSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	admit := func(s *redisstore.Store, workload string, at time.Time, tag string) (bool, string) {
		t.Helper()
		ok, newer, err := s.AdmitPush(ctx, workload, at, tag)
		must(t, err)
		return ok, newer
	}
	a := newStore(t, srv, "order:")
	if ok, _ := admit(a, "web", t0.Add(2*time.Second), "v2"); !ok {
		t.Fatal("first push refused")
	}
	b := newStore(t, srv, "order:") // another process
	if ok, newer := admit(b, "web", t0.Add(time.Second), "v1"); ok || newer != "v2" {
		t.Fatalf("older push after a restart: admitted %v (newer %q), want refused naming v2", ok, newer)
	}
	if ok, _ := admit(b, "web", t0.Add(2*time.Second), "v2b"); !ok {
		t.Fatal("a push of the same time was refused")
	}
	if ok, newer := admit(a, "web", t0, "v0"); ok || newer != "v2b" {
		t.Fatalf("older push: admitted %v (newer %q), want refused naming v2b", ok, newer)
	}
	if ok, _ := admit(a, "api", t0, "v0"); !ok {
		t.Fatal("another workload's order leaked")
	}
	if ok, _ := admit(a, "web", time.Time{}, "untimed"); !ok {
		t.Fatal("a push without a time was refused")
	}
	// Times far outside int64 nanoseconds still order, without overflow.
	if ok, _ := admit(a, "far", time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), "old"); !ok {
		t.Fatal("year 1 refused on an empty order")
	}
	if ok, _ := admit(a, "far", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), "new"); !ok {
		t.Fatal("year 3000 refused")
	}
	if ok, _ := admit(a, "far", t0, "mid"); ok {
		t.Fatal("2025 admitted after year 3000")
	}
}

// TestAdmitPushIsAtomic: of many concurrent pushes with distinct times,
// the newest is the one recorded, whatever the arrival order.
func TestAdmitPushIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "atomic:")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, _, err := s.AdmitPush(ctx, "web", t0.Add(time.Duration(i)*time.Millisecond), "v"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ok, _, err := s.AdmitPush(ctx, "web", t0.Add(48*time.Millisecond), "late")
	must(t, err)
	if ok {
		t.Fatal("a push older than the newest of the burst was admitted")
	}
}

// TestAcceptAlsoKeys: a push is a duplicate when any of its keys was seen,
// so a signed body replayed under a new delivery id counts once.
func TestAcceptAlsoKeys(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "also:")
	first := intake("github:delivery-1:v1", entry("web", "v1"))
	first.AlsoKeys = []string{"github:body-abc:v1"}
	replay := intake("github:delivery-2:v1", entry("web", "v1"))
	replay.AlsoKeys = []string{"github:body-abc:v1"}
	other := intake("github:delivery-3:v1", entry("web", "v1"))
	other.AlsoKeys = []string{"github:body-def:v1"}

	fresh, err := s.Accept(ctx, time.Hour, []redisstore.Intake{first}, nil)
	must(t, err)
	equal(t, "first", fresh, []bool{true})
	fresh, err = s.Accept(ctx, time.Hour, []redisstore.Intake{replay, other}, nil)
	must(t, err)
	equal(t, "replay under a new delivery id, then another body", fresh, []bool{false, true})
	n, err := s.InboxLen(ctx)
	must(t, err)
	equal(t, "inbox entries", n, int64(2))
}
