package e2e

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// crashSteps are the step boundaries the sidecar is killed at, as the
// test hook names them ("surplus" = after the watch, once the drain of the
// replaced container is journaled), with whether the routes had moved to
// the new container.
var crashSteps = []struct {
	hook     string
	switched bool
}{
	{"pulled", false},
	{"created", false},
	{"started", false},
	{"healthy", false},
	{"switched", true},
	{"surplus", true},
}

// crashRounds is how many times each boundary is crashed at: 2 in CI,
// more with TINYFORGE_CRASH_ROUNDS=N for a longer soak.
func crashRounds() int {
	if n, err := strconv.Atoi(os.Getenv("TINYFORGE_CRASH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 2
}

// TestCrashAtEveryStepBoundary kills the sidecar with SIGKILL at each step
// boundary of a blue-green deploy (crashRounds runs per boundary), restarts it, and
// checks that after its lock expired the interrupted deploy was recovered
// (undone before the switch, finished after it) and the rollback it was
// carrying out, still in the durable inbox, was carried out: the workload
// has exactly one running container, recorded exactly, routed, serving the
// rollback's target, with no unfinished deploy, while a request loop
// through Caddy saw no failure throughout.
func TestCrashAtEveryStepBoundary(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	rc := s.redisClient()
	p := s.launch(procOpts{})
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	s.push("v2")
	s.waitServed("v2", 60*time.Second)
	s.waitConverged(p.url, rc, "v2", 30*time.Second)

	load := startLoad(s)
	serving, other := "v2", "v1"
	var took []string
	// After a kill the sidecar restarts without the hook (it redoes the
	// rollback it was killed in), then once more with the next boundary's.
	plan := slices.Repeat(crashSteps, crashRounds())
	p.stop()
	p.start(pauseEnv(plan[0].hook))
	for i, step := range plan {
		hookStep := step.hook
		if hookStep == "surplus" {
			hookStep = deployer.StepWatched
		}
		// Roll back (a deploy of the other version) and kill the sidecar
		// where the hook stops it.
		p.waitDeclared()
		before := p.pausedCount(hookStep)
		s.rollback(p.url)
		p.waitPaused(hookStep, before)
		p.kill()
		killed := time.Now()

		p.start([]string{})
		s.waitConverged(p.url, rc, other, 60*time.Second) // the rollback's target
		took = append(took, step.hook+": "+time.Since(killed).Round(100*time.Millisecond).String())
		serving, other = other, serving
		eventually(t, 30*time.Second, "rollback entry acknowledged", func() bool { return s.inboxLen(rc) == 0 })

		if step.hook == "surplus" {
			// The deploy was recorded before its drain was journaled: the
			// restarted sidecar finishes the drain and records nothing more.
			// (A converge the restart queued may be recorded after it:
			// look at the newest rollback.)
			evs := s.deploys(p.url)
			last, ok := newestOf(evs, "rollback")
			if !ok || last.Outcome != deployer.OutcomeDeployed || last.Note != "" || countDeploy(evs, last.Deploy) != 1 {
				t.Errorf("crash during the drain: newest rollback %+v (recorded %d times), want deployed once", last, countDeploy(evs, last.Deploy))
			}
		} else if !recoveredAt(s.deploys(p.url), hookStep, step.switched, t, step.hook) {
			t.Errorf("crash %d after %s: no recovery in the history", i, step.hook)
		}
		if i+1 < len(plan) {
			p.stop()
			p.start(pauseEnv(plan[i+1].hook))
		}
	}
	sent, failed := load.stop()
	t.Logf("kill -> restarted, recovered and the rollback redone (lock TTL 2s, reconcile every 1s): %v", took)
	t.Logf("load through caddy across %d crashes: %d requests (%d slow 300 ms ones), %d failed", len(plan), sent, load.slow.Load(), len(failed))
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed; first: %v", len(failed), sent, failed[:min(5, len(failed))])
	}
	if sent < 200 {
		t.Errorf("only %d requests sent: the load loop did not run", sent)
	}
}

// countDeploy counts the history records of one deploy id.
func countDeploy(evs []deployer.Event, id string) int {
	n := 0
	for _, ev := range evs {
		if ev.Deploy == id {
			n++
		}
	}
	return n
}

// recoveredAt reports whether the history records the recovery of a deploy
// killed after step (the note names it), and checks its outcome: rolled
// back before the switch, deployed after it.
func recoveredAt(evs []deployer.Event, step string, switched bool, t *testing.T, hook string) bool {
	t.Helper()
	recovered := false
	for _, ev := range evs {
		if strings.Contains(ev.Note, `step "`+step+`"`) && strings.HasPrefix(ev.Note, "recovered by ") {
			recovered = true
			wantOutcome := deployer.OutcomeRolledBack
			if switched {
				wantOutcome = deployer.OutcomeDeployed
			}
			if !strings.HasPrefix(ev.Outcome, wantOutcome) {
				t.Errorf("crash after %s: recovery recorded %q, want %q", hook, ev.Outcome, wantOutcome)
			}
		}
	}
	return recovered
}

// newestOf is the newest deploy of source in evs (newest first).
func newestOf(evs []deployer.Event, source string) (deployer.Event, bool) {
	for _, ev := range evs {
		if ev.Source == source {
			return ev, true
		}
	}
	return deployer.Event{}, false
}
