package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/overview"
)

// TestSemverPolicyIgnoresOlderPush: under policy semver, v1.0.0 then
// v2.0.0 deploy; a later push of v1.5.0 (older than the serving v2.0.0)
// is recorded as ignored with the reason and never deployed; v2.1.0
// deploys.
func TestSemverPolicyIgnoresOlderPush(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	p := s.launch(procOpts{})
	s.startController("a", s.controllerLabels(map[string]string{"tinyforge.workloads." + s.workload + ".policy": "semver"}))
	p.waitDeclared()
	s.push("v1.0.0")
	s.waitServed("v1.0.0", 60*time.Second)
	s.push("v2.0.0")
	s.waitServed("v2.0.0", 60*time.Second)

	s.push("v1.5.0")
	var ignored deployer.Event
	eventually(t, 30*time.Second, "v1.5.0 recorded as ignored", func() bool {
		for _, ev := range s.events() {
			if strings.HasPrefix(ev.Image, s.repo+":v1.5.0") && strings.HasPrefix(ev.Outcome, "ignored: ") {
				ignored = ev
				return true
			}
		}
		return false
	})
	if want := "tag v1.5.0 is older than the serving v2.0.0 (policy semver deploys only newer versions)"; !strings.Contains(ignored.Outcome, want) {
		t.Fatalf("ignored with %q, want the reason %q", ignored.Outcome, want)
	}
	time.Sleep(2 * time.Second) // nothing may deploy it
	for _, ev := range s.deploys(p.url) {
		if ev.Tag == "v1.5.0" {
			t.Fatalf("v1.5.0 was deployed: %+v", ev)
		}
	}
	s.waitServed("v2.0.0", 5*time.Second)

	s.push("v2.1.0")
	s.waitServed("v2.1.0", 60*time.Second)
}

// TestManualApprovalAcrossRestart: with approval manual a push waits,
// visible with its digest in GET /v1/workloads/<name>, deploys nothing,
// and survives a SIGKILL of the sidecar; `tinyforge approve` then
// deploys exactly it. A newer push replaces a pending one (recorded as
// replaced) and `tinyforge reject` drops it (recorded as rejected):
// nothing more deploys.
func TestManualApprovalAcrossRestart(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	rc := s.redisClient()
	p := s.launch(procOpts{})
	s.startController("a", s.controllerLabels(map[string]string{"tinyforge.workloads." + s.workload + ".approval": "manual"}))
	p.waitDeclared()
	v1 := s.pushDigest("v1")
	pend := s.waitPending(p.url, "v1")
	if pend.Digest != v1 || pend.Source != "distribution" || pend.Since.IsZero() || !pend.Expires.IsZero() {
		t.Fatalf("pending %+v, want v1 at %s from distribution, no expiry", pend, v1)
	}
	if cs := s.workloadContainers(true); len(cs) != 0 {
		t.Fatalf("%d containers before any approval", len(cs))
	}

	p.kill()
	p.start(nil)
	p.waitDeclared()
	if got := s.waitPending(p.url, "v1"); got.Digest != v1 {
		t.Fatalf("after a restart pending %+v, want v1 (%s)", got, v1)
	}
	time.Sleep(2 * time.Second)
	if cs := s.workloadContainers(true); len(cs) != 0 {
		t.Fatalf("%d containers after a restart without approval", len(cs))
	}

	out, err := s.cliCmd(t, "approve", s.workload).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "approved: deploying") {
		t.Fatalf("tinyforge approve: %v\n%s", err, out)
	}
	s.waitConverged(p.url, rc, "v1", 60*time.Second)
	if st := s.detail(p.url); st.Pending != nil {
		t.Fatalf("still pending after approval: %+v", st.Pending)
	}
	if d := s.deploys(p.url); len(d) == 0 || d[0].Digest != v1 || d[0].Source != "approval" || d[0].Outcome != deployer.OutcomeDeployed {
		t.Fatalf("deploys after approval: %+v", d)
	}

	s.pushDigest("v2")
	s.waitPending(p.url, "v2")
	v3 := s.pushDigest("v3")
	if got := s.waitPending(p.url, "v3"); got.Digest != v3 {
		t.Fatalf("pending %+v, want v3 (%s)", got, v3)
	}
	out, err = s.cliCmd(t, "reject", s.workload).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rejected") {
		t.Fatalf("tinyforge reject: %v\n%s", err, out)
	}
	out, err = s.cliCmd(t, "approve", s.workload).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), "no delivery is pending approval") {
		t.Fatalf("approve with nothing pending: exit %d\n%s", code, out)
	}
	time.Sleep(2 * time.Second)
	if ok, why := s.converged(p.url, rc, "v1"); !ok {
		t.Fatalf("after reject: %s", why)
	}
	outcomes := map[string]string{}
	for _, ev := range s.events() {
		if ev.Deploy == "" && ev.Tag != "" {
			if _, seen := outcomes[ev.Tag]; !seen { // newest first
				outcomes[ev.Tag] = ev.Outcome
			}
		}
	}
	if !strings.HasPrefix(outcomes["v1"], "approved: pending since") || !strings.HasPrefix(outcomes["v2"], "replaced: by v3") ||
		outcomes["v3"] != "rejected: by the operator" {
		t.Fatalf("history outcomes %v", outcomes)
	}
}

// TestPollDeploysNewDigest: a workload with poll and no webhook (the
// registry's notifications are held back) deploys its default tag within
// one interval of a push, polls on without deploying while the digest is
// unchanged, and deploys the next push of the same tag. A second
// workload whose registry does not answer deploys nothing, and its
// status reports the error.
func TestPollDeploysNewDigest(t *testing.T) {
	const every = 2 * time.Second
	broken := "poll" + testsvc.RunID
	s := newStackWith(t, stackOptions{manual: true, redisURL: testsvc.Redis(t).URL})
	s.hooks.mu.Lock()
	s.hooks.hold = true // no webhook reaches the sidecar
	s.hooks.mu.Unlock()
	p := s.launch(procOpts{env: []string{testPollInterval + "=" + every.String()}})
	w, b := "tinyforge.workloads."+s.workload+".", "tinyforge.workloads."+broken+"."
	s.startController("a", s.controllerLabels(map[string]string{
		w + "poll": "30s", w + "defaultTag": "stable",
		b + "image": fmt.Sprintf("127.0.0.1:%d/none/app", testsvc.FreePort(t)), b + "port": "8080", b + "poll": "1m",
	}))
	p.waitDeclared()

	pushed := s.push("stable", "APP_VERSION=one")
	s.waitServed("one", 60*time.Second)
	found := s.pollAccepted(1)
	lag := found[0].Time.Sub(pushed)
	if lag > every+time.Second {
		t.Fatalf("the poll found the push %s after it, want within one interval (%s)", lag, every)
	}
	t.Logf("the poll found the push %s after it (interval %s)", lag.Round(time.Millisecond), every)
	eventually(t, 30*time.Second, "the deploy recorded", func() bool { return len(s.deploys(p.url)) == 1 })
	before := len(s.deploys(p.url))
	time.Sleep(3 * every) // three more polls of an unchanged digest
	if n := len(s.deploys(p.url)); n != before {
		t.Fatalf("%d deploys after polls of an unchanged digest, want %d", n, before)
	}
	if got := s.pollAccepted(0); len(got) != 1 {
		t.Fatalf("%d poll deliveries for one digest", len(got))
	}
	if st := s.detail(p.url); st.Poll == nil || st.Poll.Error != "" || st.Poll.Tag != "stable" || st.Poll.Last.IsZero() || st.Poll.Every != every {
		t.Fatalf("poll status %+v", st.Poll)
	}

	s.push("stable", "APP_VERSION=two")
	s.waitServed("two", 60*time.Second)
	if got := s.pollAccepted(2); len(got) != 2 {
		t.Fatalf("%d poll deliveries after a second push", len(got))
	}

	var bad overview.Workload
	if code := s.apiAt(p.url, http.MethodGet, "/v1/workloads/"+broken, &bad); code != http.StatusOK {
		t.Fatalf("GET /v1/workloads/%s: %d", broken, code)
	}
	if bad.Poll == nil || bad.Poll.Failures == 0 || !strings.Contains(bad.Poll.Error, "connection refused") {
		t.Fatalf("poll status of the workload whose registry is down: %+v", bad.Poll)
	}
	if len(bad.Instances) != 0 || len(bad.History) != 0 {
		t.Fatalf("the workload whose registry is down has instances %v, deploys %v", bad.Instances, bad.History)
	}
	if p.logged(func(l logLine) bool { return l.Message == "poll failed: nothing deployed, retried later" }) == 0 {
		t.Fatal("the registry error is not logged")
	}
}

// testPollInterval is the sidecar's test-only override of poll intervals.
const testPollInterval = "TINYFORGE_TEST_POLL_INTERVAL"

// waitPending waits until the sidecar at base shows tag pending approval.
func (s *stack) waitPending(base, tag string) overview.Approval {
	s.t.Helper()
	var got overview.Approval
	eventually(s.t, 30*time.Second, tag+" pending approval", func() bool {
		st := s.detail(base)
		if st.Pending != nil && st.Pending.Tag == tag {
			got = *st.Pending
			return true
		}
		return false
	})
	return got
}

// detail is GET /v1/workloads/<name> of the stack's workload.
func (s *stack) detail(base string) overview.Workload {
	s.t.Helper()
	var out overview.Workload
	if code := s.apiAt(base, http.MethodGet, "/v1/workloads/"+s.workload, &out); code != http.StatusOK {
		s.t.Fatalf("GET /v1/workloads/%s: %d", s.workload, code)
	}
	return out
}

// pollAccepted returns the accepted deliveries of source poll, oldest
// first, once there are at least n.
func (s *stack) pollAccepted(n int) []deployer.Event {
	s.t.Helper()
	var got []deployer.Event
	eventually(s.t, 60*time.Second, fmt.Sprintf("%d poll deliveries", n), func() bool {
		got = got[:0]
		evs := s.events()
		for i := len(evs) - 1; i >= 0; i-- {
			if evs[i].Source == "poll" && evs[i].Outcome == "accepted" {
				got = append(got, evs[i])
			}
		}
		return len(got) >= n
	})
	return got
}

// exitCode is the exit status of a finished command's error (0: none).
func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
