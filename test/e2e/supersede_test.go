package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// TestPushDuringTheWatchIsServedAtOnce runs the sidecar with a one-minute
// post-switch watch: a push that arrives while the previous version is in
// its watch is served long before that watch would have ended (the newer
// request ends it, and the deploy is recorded as superseded, not failed),
// the replaced containers still go after the drain (the previous one stays
// through the newest deploy's watch), and a rollback goes back to the
// superseded deploy's digest.
func TestPushDuringTheWatchIsServedAtOnce(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	p := s.launch(procOpts{args: []string{"--watch", "60s", "--drain", "1s"}})
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })

	digests := map[string]string{}
	pushServed := func(tag string) time.Duration {
		digests[tag] = s.pushDigest(tag)
		d := s.waitDelivery(tag)
		return s.waitServed(tag, 60*time.Second).Sub(d.At)
	}
	pushServed("v1")
	took2 := pushServed("v2") // v1 is in its watch
	took3 := pushServed("v3") // v2 is in its watch
	t.Logf("delivered -> served while the previous version was in its 60 s watch: v2 %s, v3 %s",
		took2.Round(time.Millisecond), took3.Round(time.Millisecond))
	for tag, took := range map[string]time.Duration{"v2": took2, "v3": took3} {
		if took > 30*time.Second {
			t.Errorf("%s served %s after its delivery: it waited for the previous watch", tag, took)
		}
	}
	// v1 drains and goes while v3 is in its watch; v2 stays up through that
	// watch, unrouted, so a failure can switch straight back to it.
	s.waitContainers(2)
	if got := strings.Join(tags(s.workloadContainers(true)), ","); strings.Contains(got, "v1") {
		t.Fatalf("containers %s: v1 not drained", got)
	}

	evs := s.deploys(p.url)
	for _, tag := range []string{"v1", "v2"} {
		ev, ok := deployOfTag(evs, tag)
		if !ok || ev.Outcome != deployer.OutcomeDeployed || !strings.HasPrefix(ev.Watch, "superseded after ") {
			t.Fatalf("history of %s = %+v, want deployed with its watch superseded", tag, ev)
		}
	}

	// Rollback from v3 goes back to v2, the superseded deploy, at once.
	got := s.rollback(p.url)
	if got["digest"] != digests["v2"] {
		t.Fatalf("rollback target %v, want v2's digest %s", got, digests["v2"])
	}
	asked := time.Now()
	s.waitServed("v2", 30*time.Second)
	t.Logf("rollback asked -> v2 served in %s, during v3's watch", time.Since(asked).Round(time.Millisecond))
	// The first v2 container drains and goes; v3 stays through the watch of
	// the rolled-back v2 (a new container of v2's digest).
	s.waitContainers(2)
	byDigest := map[string]int{}
	for _, c := range s.workloadContainers(true) {
		byDigest[c.Labels[labels.ManagedDigest]]++
	}
	if byDigest[digests["v2"]] != 1 || byDigest[digests["v3"]] != 1 {
		t.Fatalf("containers by digest %v, want one v2 (the rollback's) and v3", byDigest)
	}
}

// TestSIGKILLDuringTheDrainLeavesNothingBehind kills the sidecar after a
// deploy succeeded and while the container it replaced drains: the drain
// is journaled, so the restarted sidecar finishes it, honouring
// maxInstances (2: the previous version stays, the one before goes).
func TestSIGKILLDuringTheDrainLeavesNothingBehind(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	rc := s.redisClient()
	p := s.launch(procOpts{args: []string{"--watch", "0s", "--drain", "6s"}})
	s.startController("a", s.controllerLabels(map[string]string{"tinyforge.workloads." + s.workload + ".maxInstances": "2"}))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	for _, tag := range []string{"v1", "v2"} {
		s.push(tag)
		s.waitServed(tag, 60*time.Second)
	}
	s.waitContainers(2)
	s.push("v3")
	s.waitServed("v3", 60*time.Second)
	eventually(t, 10*time.Second, "v3 recorded", func() bool {
		ev, ok := deployOfTag(s.deploys(p.url), "v3")
		return ok && ev.Outcome == deployer.OutcomeDeployed
	})
	if n := len(s.workloadContainers(true)); n != 3 {
		t.Fatalf("%d containers right after v3's deploy, want v1 still draining beside v2 and v3", n)
	}
	p.kill()
	if n := s.openJournals(rc); n < 1 {
		t.Fatalf("%d open journals after the kill, want v3's drain (and maybe v2's)", n)
	}

	killed := time.Now()
	p.start(nil)
	s.waitContainers(2)
	t.Logf("killed during the drain -> v1 removed by the restarted sidecar %s later (drain 6 s)", time.Since(killed).Round(100*time.Millisecond))
	cs := s.workloadContainers(true)
	if got := tags(cs); !(strings.Contains(strings.Join(got, ","), "v2") && strings.Contains(strings.Join(got, ","), "v3")) {
		t.Fatalf("containers %v, want v2 and v3 (maxInstances 2)", got)
	}
	eventually(t, 10*time.Second, "drain journal closed and records exact", func() bool {
		return s.openJournals(rc) == 0 && len(s.statusAt(p.url).Instances) == 2
	})
	if code, body, err := s.get(http.DefaultClient, "/"); err != nil || code != 200 || body != "v3" {
		t.Fatalf("served %d %q %v, want v3", code, body, err)
	}
	if n := countDeployed(s.deploys(p.url), "v3"); n != 1 {
		t.Fatalf("v3 recorded as deployed %d times, want once", n)
	}
}

// deployOfTag is the newest deploy of tag in a history (newest first).
func deployOfTag(evs []deployer.Event, tag string) (deployer.Event, bool) {
	for _, ev := range evs {
		if ev.Tag == tag {
			return ev, true
		}
	}
	return deployer.Event{}, false
}

func countDeployed(evs []deployer.Event, tag string) int {
	n := 0
	for _, ev := range evs {
		if ev.Tag == tag && ev.Outcome == deployer.OutcomeDeployed {
			n++
		}
	}
	return n
}
