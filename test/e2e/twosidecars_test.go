package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestTwoSidecarsShareOneRedis runs two sidecars on one Redis, one Docker
// and one Caddy. 50 concurrent deploy requests for one workload, split
// between them, never give overlapping deploy windows (the history's lock
// grant and finish times prove it). Then sidecar a is frozen with SIGSTOP
// at a step boundary past its lock TTL while b deploys; resumed, a cannot
// write its stale route.
func TestTwoSidecarsShareOneRedis(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	rc := s.redisClient()
	// a pauses 300 ms after each health check: a window in which the other
	// sidecar would overlap if the lock did not hold, and the boundary at
	// which it is frozen later.
	a := s.launch(procOpts{id: "a", env: pauseEnv("healthy:300ms")})
	b := s.launch(procOpts{id: "b", port: testsvc.FreePort(t)})

	// Versions are pushed before the workload is declared, so the
	// registry's own notifications deploy nothing.
	tags := []string{"v1", "v2", "v3", "v4", "v5", "v6"}
	digests := map[string]string{}
	for _, tag := range tags {
		digests[tag] = s.pushDigest(tag)
	}
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared on both", func() bool {
		return s.statusAt(a.url).Config != nil && s.statusAt(b.url).Config != nil
	})

	// Which sidecar reads which entries of the shared inbox is up to Redis:
	// a burst may land on one of them alone. Bursts go on (each newer than
	// the last) until both have deployed and one waited for the lock, up
	// to four; every deploy of every burst is checked below.
	burst := func() {
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				base, tag := a.url, tags[i%5]
				if i%2 == 1 {
					base = b.url
				}
				if code := s.notify(base, tag, digests[tag]); code != http.StatusAccepted {
					t.Errorf("delivery %d to %s answered %d", i, base, code)
				}
			})
		}
		wg.Wait()
		eventually(t, 120*time.Second, "both sidecars idle with one container", func() bool {
			return !s.busy(a.url) && !s.busy(b.url) && s.openJournals(rc) == 0 && len(s.workloadContainers(true)) == 1
		})
	}
	for round := 1; ; round++ {
		burst()
		owners := map[string]int{}
		for _, ev := range s.deploys(a.url) {
			owners[ev.Owner]++
		}
		if (owners["a"] > 0 && owners["b"] > 0 && a.logged(lockWait)+b.logged(lockWait) > 0) || round == 4 {
			t.Logf("%d burst(s) of 50 concurrent requests", round)
			break
		}
	}

	evs := s.deploys(a.url)
	slices.SortFunc(evs, func(x, y deployer.Event) int { return x.Started.Compare(y.Started) })
	owners := map[string]int{}
	var windows []string
	for i, ev := range evs {
		owners[ev.Owner]++
		windows = append(windows, fmt.Sprintf("%s/%s epoch %d [%s, %s]", ev.Owner, ev.Tag, ev.Epoch,
			ev.Started.Format("15:04:05.000"), ev.Time.Format("15:04:05.000")))
		if ev.Outcome != deployer.OutcomeDeployed && ev.Outcome != "rerouted" {
			t.Errorf("deploy %s of %s: %s", ev.Deploy, ev.Tag, ev.Outcome)
		}
		if i == 0 {
			continue
		}
		prev := evs[i-1]
		if ev.Started.Before(prev.Time) {
			t.Errorf("deploy windows overlap: %s started at %s, before %s ended at %s", ev.Deploy, ev.Started, prev.Deploy, prev.Time)
		}
		if ev.Epoch <= prev.Epoch {
			t.Errorf("epoch %d of %s does not grow past %d", ev.Epoch, ev.Deploy, prev.Epoch)
		}
	}
	t.Logf("%d deploys from the bursts: %s", len(evs), strings.Join(windows, "; "))
	waited := a.logged(lockWait) + b.logged(lockWait)
	t.Logf("lock waits logged: %d; deploys per sidecar: %v", waited, owners)
	if len(evs) < 2 || owners["a"] == 0 || owners["b"] == 0 {
		t.Fatalf("deploys per sidecar %v: want both sidecars to have deployed", owners)
	}
	if waited == 0 {
		t.Error("no sidecar ever waited for the lock: the requests did not contend")
	}
	current := evs[len(evs)-1].Tag
	s.waitConverged(b.url, rc, current, 30*time.Second)

	t.Run("a sidecar frozen past its lock TTL cannot write a stale route", func(t *testing.T) {
		stale, fresh := "v6", "v1"
		if current == fresh {
			fresh = "v2"
		}
		// The two share one inbox: a live b could take the delivery sent to
		// a. b stays away while a reads it, and comes back once a is frozen.
		b.stop()
		before := a.pausedCount(deployer.StepHealthy)
		if code := s.notify(a.url, stale, digests[stale]); code != http.StatusAccepted {
			t.Fatalf("delivery to a: %d", code)
		}
		a.waitPaused(deployer.StepHealthy, before)
		a.freeze()
		frozen := time.Now()
		b.start(nil)
		time.Sleep(time.Until(frozen.Add(3 * time.Second))) // past the 2 s lock TTL

		if code := s.notify(b.url, fresh, digests[fresh]); code != http.StatusAccepted {
			t.Fatalf("delivery to b: %d", code)
		}
		s.waitServed(fresh, 60*time.Second)
		eventually(t, 30*time.Second, "b idle", func() bool { return !s.busy(b.url) })
		a.thaw()
		t.Logf("a frozen for %s while b deployed %s", time.Since(frozen).Round(100*time.Millisecond), fresh)

		// b recovered a's abandoned deploy once the lock expired; a wakes,
		// is refused at its next fenced write, and records why.
		var staleEv, recovered deployer.Event
		eventually(t, 30*time.Second, "a's stale deploy recorded", func() bool {
			for _, ev := range s.deploys(b.url) {
				switch {
				case ev.Owner != "a" || ev.Tag != stale:
				case strings.HasPrefix(ev.Note, "recovered by b"):
					recovered = ev
				case ev.Note == "":
					staleEv = ev
				}
			}
			return staleEv.Deploy != "" && recovered.Deploy != ""
		})
		t.Logf("b recovered a's frozen deploy: %q; a, resumed, recorded: %q", recovered.Outcome, staleEv.Outcome)
		if !strings.HasPrefix(recovered.Outcome, deployer.OutcomeRolledBack) {
			t.Errorf("recovery of the frozen deploy: %q, want rolled back", recovered.Outcome)
		}
		if !strings.HasPrefix(staleEv.Outcome, deployer.OutcomeFailed) ||
			!(strings.Contains(staleEv.Outcome, "fenced") || strings.Contains(staleEv.Outcome, "lock lost")) {
			t.Errorf("stale deploy outcome %q, want a failure naming the fence or the lost lock", staleEv.Outcome)
		}
		// For the next seconds every request is served by b's version.
		client := &http.Client{Timeout: 2 * time.Second}
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if code, body, err := s.get(client, "/"); err != nil || code != 200 || body != fresh {
				t.Fatalf("after a resumed: %d %q %v, want %s", code, body, err, fresh)
			}
		}
		s.waitConverged(b.url, rc, fresh, 30*time.Second)
		for _, ev := range s.deploys(b.url) { // newest first: b's deploy of fresh
			if ev.Owner == "b" && ev.Tag == fresh && ev.Note == "" {
				if ev.Epoch <= staleEv.Epoch {
					t.Errorf("b's deploy has epoch %d, not above a's stale %d", ev.Epoch, staleEv.Epoch)
				}
				break
			}
		}
	})
}

func lockWait(l logLine) bool {
	return l.Message == "deploy lock busy: waiting for the deploy in progress"
}

// busy reports whether the sidecar at base has a deploy of the workload
// running or queued.
func (s *stack) busy(base string) bool {
	var out struct {
		Workloads map[string]struct{ Busy bool } `json:"workloads"`
	}
	if code := s.apiAt(base, http.MethodGet, "/v1/workloads", &out); code != http.StatusOK {
		s.t.Fatalf("GET /v1/workloads: %d", code)
	}
	return out.Workloads[s.workload].Busy
}
