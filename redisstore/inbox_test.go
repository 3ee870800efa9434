package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
)

func entry(workload, tag string) redisstore.InboxEntry {
	return redisstore.InboxEntry{Workload: workload, Tag: tag, Image: "reg/" + workload, Source: "test",
		Delivery: "d-" + tag, Pushed: t0, Received: t0.Add(time.Second)}
}

func intake(key string, entries ...redisstore.InboxEntry) redisstore.Intake {
	in := redisstore.Intake{DedupKey: key, Entries: entries}
	for _, e := range entries {
		in.Accepted = append(in.Accepted, deployer.Event{Time: t0, Outcome: "accepted", Image: e.Image + ":" + e.Tag, Workload: e.Workload, Delivery: key})
		in.Duplicate = append(in.Duplicate, deployer.Event{Time: t0, Outcome: "duplicate: " + key, Image: e.Image + ":" + e.Tag, Workload: e.Workload, Delivery: key})
	}
	return in
}

func outcomes(t *testing.T, s *redisstore.Store, workload string) []string {
	t.Helper()
	evs, err := s.Events(context.Background(), workload, 0)
	must(t, err)
	var out []string
	for i := len(evs) - 1; i >= 0; i-- { // oldest first
		out = append(out, evs[i].Outcome)
	}
	return out
}

func TestAcceptDeduplicates(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	push := intake("distribution:ev1:v1", entry("web", "v1"), entry("api", "v1"))

	fresh, err := s.Accept(ctx, time.Hour, []redisstore.Intake{push}, nil)
	must(t, err)
	equal(t, "first delivery", fresh, []bool{true})
	fresh, err = s.Accept(ctx, time.Hour, []redisstore.Intake{push, intake("distribution:ev2:v2", entry("web", "v2"))}, []deployer.Event{{Outcome: "ignored: x"}})
	must(t, err)
	equal(t, "redelivery with a new push", fresh, []bool{false, true})

	equal(t, "web history", outcomes(t, s, "web"), []string{"accepted", "duplicate: distribution:ev1:v1", "accepted"})
	equal(t, "api history", outcomes(t, s, "api"), []string{"accepted", "duplicate: distribution:ev1:v1"})
	global, err := s.GlobalEvents(ctx, 0)
	must(t, err)
	equal(t, "global", len(global), 1)

	n, err := s.InboxLen(ctx)
	must(t, err)
	equal(t, "inbox entries: web v1, api v1, web v2", n, int64(3))

	// Without a key nothing is deduplicated.
	for range 2 {
		fresh, err = s.Accept(ctx, time.Hour, []redisstore.Intake{intake("", entry("web", "v3"))}, nil)
		must(t, err)
		equal(t, "no key", fresh, []bool{true})
	}
	n, _ = s.InboxLen(ctx)
	equal(t, "inbox entries", n, int64(5))
}

func TestAcceptTTL(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	push := intake("k", entry("web", "v1"))
	fresh, err := s.Accept(ctx, 50*time.Millisecond, []redisstore.Intake{push}, nil)
	must(t, err)
	equal(t, "first", fresh, []bool{true})
	time.Sleep(120 * time.Millisecond)
	fresh, err = s.Accept(ctx, 50*time.Millisecond, []redisstore.Intake{push}, nil)
	must(t, err)
	equal(t, "after the TTL the key is forgotten", fresh, []bool{true})
}

func TestAcceptRefusesBadIntakes(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "")
	bad := intake("k", entry("web", "v1"))
	bad.Duplicate = nil
	if _, err := s.Accept(ctx, time.Hour, []redisstore.Intake{bad}, nil); err == nil {
		t.Error("intake without duplicate events accepted")
	}
	if _, err := s.Accept(ctx, time.Hour, []redisstore.Intake{intake("k2", entry("", "v1"))}, nil); err == nil {
		t.Error("entry without workload accepted")
	}
	equal(t, "nothing written", len(allKeys(t, srv)), 0)
}

func TestAcceptWithRedisDown(t *testing.T) {
	closed := fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))
	s := redisstore.New(redis.NewClient(&redis.Options{Addr: closed, MaxRetries: -1, DialTimeout: 200 * time.Millisecond}), "")
	defer s.Close()
	_, err := s.Accept(context.Background(), time.Hour, []redisstore.Intake{intake("k", entry("web", "v1"))}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "accept delivery: ") {
		t.Fatalf("error %v, want accept delivery: ...", err)
	}
}

// TestInboxSurvivesAConsumerCrash: entries read but not acknowledged are
// claimed by the next consumer, acknowledged ones are gone.
func TestInboxSurvivesAConsumerCrash(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "")
	// Accepted before any consumer existed: still read.
	_, err := s.Accept(ctx, time.Hour, []redisstore.Intake{intake("a", entry("web", "v1")), intake("b", entry("web", "v2"))}, nil)
	must(t, err)
	must(t, s.EnsureInbox(ctx))
	must(t, s.EnsureInbox(ctx)) // idempotent

	got, err := s.ReadInbox(ctx, "first", 10, 100*time.Millisecond)
	must(t, err)
	if len(got) != 2 || got[0].Tag != "v1" || got[1].Tag != "v2" || got[0].ID == "" {
		t.Fatalf("read %+v", got)
	}
	want := entry("web", "v1")
	want.ID = got[0].ID
	equal(t, "entry round trip", got[0], want)
	if redisstore.CompareIDs(got[0].ID, got[1].ID) >= 0 {
		t.Fatalf("ids %s, %s not in arrival order", got[0].ID, got[1].ID)
	}
	must(t, s.AckInbox(ctx, got[0].ID))
	none, err := s.ReadInbox(ctx, "first", 10, 50*time.Millisecond)
	must(t, err)
	equal(t, "nothing new", len(none), 0)

	// "first" is alive (its heartbeat stands): nobody takes its v2.
	s2 := newStore(t, srv, "")
	must(t, s2.EnsureInbox(ctx))
	must(t, s.Heartbeat(ctx, "first", time.Minute))
	claimed, err := s2.ClaimDead(ctx, "second")
	must(t, err)
	equal(t, "entries of a live consumer claimed", len(claimed), 0)

	// "first" crashed holding v2: once its heartbeat lapses, it is claimed.
	must(t, s.Heartbeat(ctx, "first", time.Millisecond))
	time.Sleep(10 * time.Millisecond)
	claimed, err = s2.ClaimDead(ctx, "second")
	must(t, err)
	if len(claimed) != 1 || claimed[0].Tag != "v2" || claimed[0].ID != got[1].ID {
		t.Fatalf("claimed %+v, want v2", claimed)
	}
	must(t, s2.AckInbox(ctx, claimed[0].ID))
	claimed, err = s2.ClaimDead(ctx, "third")
	must(t, err)
	equal(t, "nothing pending", len(claimed), 0)
	n, err := s2.InboxLen(ctx)
	must(t, err)
	equal(t, "acknowledged entries are deleted", n, int64(0))
}

func TestInboxMalformedEntry(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "p:")
	must(t, s.EnsureInbox(ctx))
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	id, err := c.XAdd(ctx, &redis.XAddArgs{Stream: "p:inbox", Values: []any{"entry", "{not json"}}).Result()
	must(t, err)
	got, err := s.ReadInbox(ctx, "c", 10, 100*time.Millisecond)
	must(t, err)
	equal(t, "malformed entry keeps its id only", got, []redisstore.InboxEntry{{ID: id}})
}

func TestInboxKeysUnderPrefix(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "pfx:")
	_, err := s.Accept(ctx, time.Hour, []redisstore.Intake{intake("k", entry("web", "v1"))}, []deployer.Event{{Outcome: "ignored"}})
	must(t, err)
	must(t, s.AppendGlobalEvent(ctx, deployer.Event{Outcome: "rejected: bad signature"}))
	must(t, s.EnsureInbox(ctx))
	keys := map[string]bool{}
	for _, k := range allKeys(t, srv) {
		keys[k] = true
	}
	equal(t, "keys", keys, map[string]bool{"pfx:inbox": true, "pfx:delivery:k": true, "pfx:events:web": true, "pfx:events:_global": true})
}

func TestCompareIDs(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"1-0", "1-0", 0},
		{"1-0", "1-1", -1},
		{"9-5", "10-0", -1},
		{"1700000000000-12", "1700000000000-3", 1},
	} {
		if got := redisstore.CompareIDs(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareIDs(%s, %s) = %d", tt.a, tt.b, got)
		}
	}
}

// TestInboxOutlivesAFlush: when Redis loses the stream and its group, the
// next read recreates them and what is accepted afterwards is read.
func TestInboxOutlivesAFlush(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "")
	must(t, s.EnsureInbox(ctx))
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	must(t, c.FlushAll(ctx).Err())

	got, err := s.ReadInbox(ctx, "c1", 10, 50*time.Millisecond)
	if err != nil || len(got) != 0 {
		t.Fatalf("read after the flush = %v, %v; want nothing and no error", got, err)
	}
	claimed, err := s.ClaimDead(ctx, "c1")
	if err != nil || len(claimed) != 0 {
		t.Fatalf("claim after the flush = %v, %v", claimed, err)
	}
	_, err = s.Accept(ctx, time.Hour, []redisstore.Intake{intake("after", entry("web", "v3"))}, nil)
	must(t, err)
	got, err = s.ReadInbox(ctx, "c1", 10, 50*time.Millisecond)
	must(t, err)
	if len(got) != 1 || got[0].Tag != "v3" {
		t.Fatalf("read after a flush and a new delivery = %+v, want v3", got)
	}
}
