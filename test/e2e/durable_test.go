package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
)

// TestRollbackOverPendingDeliveryAcrossRestart: v1 then v2 deployed; a v3
// deploy is held at a step, v4 is pushed and waits, and the operator asks
// for a rollback (to v1, the previous good digest of what serves). The
// sidecar is killed with SIGKILL and restarted. What the operator asked
// for last wins: v1 serves, from exactly one container, the v4 push is
// recorded as superseded, and no inbox entry is left.
func TestRollbackOverPendingDeliveryAcrossRestart(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	rc := s.redisClient()
	p := s.launch(procOpts{})
	s.startController("a", s.controllerLabels(nil))
	p.waitDeclared()
	v1 := s.pushDigest("v1")
	s.waitServed("v1", 60*time.Second)
	s.pushDigest("v2")
	s.waitServed("v2", 60*time.Second)
	s.waitConverged(p.url, rc, "v2", 30*time.Second)

	// Hold the next deploy (v3) at its health check, before any switch.
	p.stop()
	p.start(pauseEnv("healthy"))
	p.waitDeclared()
	before := p.pausedCount("healthy")
	s.pushDigest("v3")
	p.waitPaused("healthy", before)
	s.pushDigest("v4")
	if d := s.waitDelivery("v4"); d.Status != http.StatusAccepted {
		t.Fatalf("v4 delivery answered %d, want 202", d.Status)
	}
	target := s.rollback(p.url)
	if target["tag"] != "v1" || target["digest"] != v1 {
		t.Fatalf("rollback queued %v, want v1 (%s)", target, v1)
	}

	p.kill()
	p.start([]string{}) // no pause hook
	s.waitConverged(p.url, rc, "v1", 120*time.Second)
	eventually(t, 60*time.Second, "inbox empty and workload idle", func() bool {
		return s.inboxLen(rc) == 0 && !s.busy(p.url)
	})
	time.Sleep(2 * time.Second) // nothing may deploy after the rollback
	if ok, why := s.converged(p.url, rc, "v1"); !ok {
		t.Fatalf("after the rollback: %s", why)
	}
	st := s.statusAt(p.url)
	if len(st.Instances) != 1 || st.Instances[0].Digest != v1 {
		t.Fatalf("serving %+v, want one instance of v1 (%s)", st.Instances, v1)
	}
	if n := s.inboxLen(rc); n != 0 {
		t.Fatalf("%d inbox entries left", n)
	}
	pending, err := rc.XPending(context.Background(), s.redisPrefix+"inbox", redisstore.InboxGroup).Result()
	if err != nil || pending.Count != 0 {
		t.Fatalf("unacknowledged inbox entries: %+v %v", pending, err)
	}
	// v4 never deployed: the rollback superseded it, also after the
	// restart (the inbox resubmits the pending entries as one batch, so v4
	// cannot start before the rollback is queued behind it).
	for _, ev := range s.deploys(p.url) {
		if ev.Tag == "v4" && strings.HasPrefix(ev.Outcome, deployer.OutcomeDeployed) {
			t.Errorf("v4 deployed although the rollback came after it: %+v", ev)
		}
	}
	superseded := false
	for _, ev := range s.events() {
		superseded = superseded || (ev.Tag == "v4" && strings.HasPrefix(ev.Outcome, "superseded: by the rollback"))
	}
	if !superseded {
		t.Errorf("v4 not recorded as superseded by the rollback: %+v", s.events())
	}
}

// inboxLen counts the entries in the stack's durable inbox (acknowledged
// entries are deleted).
func (s *stack) inboxLen(rc *redis.Client) int64 {
	n, err := rc.XLen(context.Background(), s.redisPrefix+"inbox").Result()
	if err != nil {
		return -1
	}
	return n
}
