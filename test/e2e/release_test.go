package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// TestReleaseCommand runs a workload's release command on the real
// registry and Docker Engine. The command is the testapp's -release mode,
// whose exit code and duration each image version sets ($RELEASE_EXIT,
// $RELEASE_SLEEP):
//
//   - a sidecar killed (SIGKILL) while the command runs leaves its one-off
//     container; the restarted one removes it, records the recovery, redoes
//     the deploy, whose command then outlives release.timeout: the deploy
//     fails, v1 keeps serving, nothing is left behind;
//   - a command that exits 3 fails the deploy the same way, its output
//     (with the workload's env and release.env) in the history;
//   - a command that exits 0 lets the version deploy, and `tinyforge
//     deploys` shows its output under the steps.
func TestReleaseCommand(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	rc := s.redisClient()
	p := s.launch(procOpts{})
	w := "tinyforge.workloads." + s.workload + "."
	s.startController("a", s.controllerLabels(map[string]string{
		w + "release.command":   "-release -print DB,PHASE", // the image's entrypoint is the testapp
		w + "release.timeout":   "4s",
		w + "release.env.PHASE": "release",
		w + "env.DB":            "db:5432",
		w + "env.PHASE":         "serve",
	}))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	s.waitConverged(p.url, rc, "v1", 30*time.Second)
	if r := s.deployOf(p.url, "v1").Release; r == nil || r.Exit != 0 || !strings.Contains(r.Output, "release of v1") {
		t.Fatalf("v1's release in the history: %+v", r)
	}

	t.Run("killed during the release, then past its timeout", func(t *testing.T) {
		p.stop()
		p.start(pauseEnv(deployer.StepReleasing))
		p.waitDeclared()
		before := p.pausedCount(deployer.StepReleasing)
		s.push("v2", "RELEASE_SLEEP=1m")
		p.waitPaused(deployer.StepReleasing, before)
		rel := s.releaseContainers()
		if len(rel) != 1 || rel[0].State != "running" || !strings.HasPrefix(strings.TrimPrefix(rel[0].Names[0], "/"), "tf-"+s.workload+"-release-") {
			t.Fatalf("release containers while paused: %+v, want one running tf-<w>-release-<deploy>", rel)
		}
		if code, body, err := s.get(&http.Client{Timeout: 2 * time.Second}, "/"); err != nil || code != 200 || body != "v1" {
			t.Fatalf("during the release: %d %q %v, want v1 serving", code, body, err)
		}
		p.kill()
		killed := time.Now()
		p.start([]string{})
		eventually(t, 60*time.Second, "v2's redone deploy failed", func() bool {
			return s.status().outcomes(s.repo + ":v2")["failed"] == 1
		})
		s.waitConverged(p.url, rc, "v1", 30*time.Second) // one container (no release one), no journal, v1 served
		t.Logf("killed during the release -> recovered, redone, timed out, converged on v1 in %s", time.Since(killed).Round(100*time.Millisecond))
		recovered, timedOut := false, false
		for _, ev := range s.deploys(p.url) {
			if ev.Tag != "v2" {
				continue
			}
			recovered = recovered || strings.Contains(ev.Note, `step "releasing"`) && strings.Contains(ev.Outcome, "release command's container removed")
			timedOut = timedOut || ev.Release != nil && ev.Release.Exit == -1 && strings.Contains(ev.Outcome, "still running after release.timeout 4s") &&
				strings.Contains(ev.Release.Output, "release of v2")
		}
		if !recovered || !timedOut {
			t.Fatalf("v2's history: recovered %v, timed out %v: %+v", recovered, timedOut, s.deploys(p.url))
		}
	})

	t.Run("a failing release keeps the old version", func(t *testing.T) {
		s.push("v3", "RELEASE_EXIT=3")
		eventually(t, 60*time.Second, "v3's deploy failed", func() bool { return s.status().outcomes(s.repo + ":v3")["failed"] == 1 })
		s.waitConverged(p.url, rc, "v1", 30*time.Second)
		ev := s.deployOf(p.url, "v3")
		// Its stdout lines in order, and its stderr line: Docker keeps the
		// order within each stream, not how the two interleave (the stderr
		// line, written last, is seen between stdout's under load).
		stdout, stderr := []string{"release of v3", "DB=db:5432", "PHASE=release"}, []string{"release failed: exit 3"}
		if !strings.Contains(ev.Outcome, "exited 3") || ev.Release == nil || ev.Release.Exit != 3 ||
			!testsvc.Interleaved(ev.Release.Output, stdout, stderr) {
			t.Fatalf("v3 recorded %q with release %+v, want exit 3 and the output of stdout %q and stderr %q", ev.Outcome, ev.Release, stdout, stderr)
		}
		if ev.Container != "" {
			t.Fatalf("a new container %s was created although the release failed", ev.Container)
		}
	})

	t.Run("a release that succeeds shows in tinyforge deploys", func(t *testing.T) {
		s.push("v4")
		s.waitServed("v4", 60*time.Second)
		s.waitConverged(p.url, rc, "v4", 30*time.Second)
		out, errOut, code := s.run(t, "deploys", s.workload)
		if code != 0 {
			t.Fatalf("tinyforge deploys: exit %d\n%s%s", code, out, errOut)
		}
		t.Logf("tinyforge deploys:\n%s", out)
		for _, want := range []string{
			"releasing ", "released ", "    release: exit 0 after ", "      | release of v4\n      | DB=db:5432\n      | PHASE=release\n      | release done\n",
			"    release: exit 3 after ", "      | release failed: exit 3\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("tinyforge deploys lacks %q", want)
			}
		}
	})
}

// releaseContainers lists the workload's release containers.
func (s *stack) releaseContainers() []container.Summary {
	var out []container.Summary
	for _, c := range s.workloadContainers(true) {
		if c.Labels[labels.ManagedRelease] == "true" {
			out = append(out, c)
		}
	}
	return out
}

// deployOf is the newest deploy of tag in the history.
func (s *stack) deployOf(base, tag string) deployer.Event {
	s.t.Helper()
	for _, ev := range s.deploys(base) {
		if ev.Tag == tag {
			return ev
		}
	}
	s.t.Fatalf("no deploy of %s in the history", tag)
	return deployer.Event{}
}
