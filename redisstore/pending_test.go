package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
)

// TestPendingApproval: one pending delivery per workload, kept by a store
// opened afresh (a restart); a newer one replaces it and returns it, the
// same one again changes nothing; settling acts only on the one read, and
// an approval stores its inbox entry and history record with it.
func TestPendingApproval(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	a := newStore(t, srv, "pending:")
	v2 := redisstore.Pending{ID: "1-0", Workload: "web", Image: "r/app", Tag: "v2", Digest: "sha256:2", Source: "distribution", Since: t0}
	old, stored, err := a.HoldPending(ctx, v2)
	must(t, err)
	if old != nil || !stored {
		t.Fatalf("first hold: old %v stored %v", old, stored)
	}
	again := v2
	again.ID, again.Since = "2-0", t0.Add(time.Minute)
	old, stored, err = a.HoldPending(ctx, again)
	must(t, err)
	if stored || old == nil || old.ID != "1-0" {
		t.Fatalf("same tag and digest again: old %+v stored %v, want the first kept", old, stored)
	}

	b := newStore(t, srv, "pending:") // a restarted sidecar
	got, ok, err := b.PendingApproval(ctx, "web")
	must(t, err)
	if !ok || got != v2 {
		t.Fatalf("after a restart: %+v %v, want %+v", got, ok, v2)
	}
	v3 := redisstore.Pending{ID: "3-0", Workload: "web", Image: "r/app", Tag: "v3", Digest: "sha256:3", Source: "poll", Since: t0.Add(time.Hour), Expires: t0.Add(2 * time.Hour)}
	old, stored, err = b.HoldPending(ctx, v3)
	must(t, err)
	if !stored || old == nil || old.Tag != "v2" {
		t.Fatalf("newer delivery: old %+v stored %v, want v2 replaced", old, stored)
	}
	if !v3.Expired(t0.Add(2*time.Hour)) || v3.Expired(t0.Add(time.Hour)) || v2.Expired(t0.Add(1000*time.Hour)) {
		t.Fatal("Expired is wrong")
	}

	// Settling the replaced one does nothing.
	ev := deployer.Event{Time: t0, Workload: "web", Tag: "v2", Outcome: "rejected: by the operator"}
	done, err := b.SettlePending(ctx, v2, ev, nil)
	must(t, err)
	if done {
		t.Fatal("a replaced delivery was settled")
	}
	entry := redisstore.InboxEntry{Kind: deployer.KindDeliver, Workload: "web", Tag: "v3", Digest: "sha256:3", Image: "r/app", Source: "approval", Received: t0}
	ev = deployer.Event{Time: t0, Workload: "web", Tag: "v3", Digest: "sha256:3", Outcome: "approved: by the operator"}
	done, err = a.SettlePending(ctx, v3, ev, &entry)
	must(t, err)
	if !done {
		t.Fatal("the pending delivery was not approved")
	}
	if done, _ := a.SettlePending(ctx, v3, ev, &entry); done {
		t.Fatal("approved twice")
	}
	if all, err := a.PendingApprovals(ctx); err != nil || len(all) != 0 {
		t.Fatalf("pending after approval: %v %v", all, err)
	}
	must(t, a.EnsureInbox(ctx))
	entries, err := a.ReadInbox(ctx, "c", 10, 0)
	must(t, err)
	if len(entries) != 1 || entries[0].Tag != "v3" || entries[0].Source != "approval" || entries[0].Digest != "sha256:3" {
		t.Fatalf("inbox after approval: %+v", entries)
	}
	evs, err := a.Events(ctx, "web", 0)
	must(t, err)
	if len(evs) != 1 || evs[0].Outcome != "approved: by the operator" {
		t.Fatalf("history after approval: %+v", evs)
	}
}
