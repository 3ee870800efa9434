package sidecar

import (
	"reflect"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/metrics"
	"github.com/tinyforge/tinyforge/notify"
)

// steps builds a journal's steps: name, then seconds it took, repeated;
// each At is the running total after t0.
func steps(t0 time.Time, spec ...any) []deployer.StepTime {
	var out []deployer.StepTime
	at := t0
	for i := 0; i < len(spec); i += 2 {
		took := time.Duration(spec[i+1].(float64) * float64(time.Second))
		at = at.Add(took)
		out = append(out, deployer.StepTime{Step: spec[i].(string), At: at, Took: took})
	}
	return out
}

func TestDeployOutcome(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	full := steps(t0, deployer.StepLocked, 0.0, deployer.StepPulled, 2.0, deployer.StepCreated, 0.25, deployer.StepStarted, 0.25,
		deployer.StepHealthy, 1.0, deployer.StepSwitching, 0.01, deployer.StepSwitched, 0.02, deployer.StepWatched, 10.0)
	end := full[len(full)-1].At.Add(3 * time.Second) // surplus removal
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	ph := func(name string, f float64) metrics.Phase { return metrics.Phase{Name: name, Took: sec(f)} }
	for _, tt := range []struct {
		name string
		ev   deployer.Event
		want outcome
		ok   bool
	}{
		{"deployed: every phase, served 4.53s after the request", deployer.Event{Outcome: deployer.OutcomeDeployed, Steps: full, Time: end,
			Started: t0, Received: t0.Add(-time.Second)},
			outcome{metric: metrics.DeploySucceeded, kind: notify.Succeeded, toServe: sec(4.53), phases: []metrics.Phase{
				ph(metrics.PhasePull, 2), ph(metrics.PhaseCreate, 0.5), ph(metrics.PhaseHealth, 1),
				ph(metrics.PhaseSwitch, 0.03), ph(metrics.PhaseWatch, 10), ph(metrics.PhaseDrain, 3)}}, true},
		{"deployed without a received time: served counts from the lock", deployer.Event{Outcome: deployer.OutcomeDeployed, Steps: full, Time: end, Started: t0},
			outcome{metric: metrics.DeploySucceeded, kind: notify.Succeeded, toServe: sec(3.53), phases: []metrics.Phase{
				ph(metrics.PhasePull, 2), ph(metrics.PhaseCreate, 0.5), ph(metrics.PhaseHealth, 1),
				ph(metrics.PhaseSwitch, 0.03), ph(metrics.PhaseWatch, 10), ph(metrics.PhaseDrain, 3)}}, true},
		{"failed in the health check: the time after started is health", deployer.Event{Outcome: deployer.OutcomeFailed + "unhealthy",
			Steps: full[:4], Time: full[3].At.Add(5 * time.Second)},
			outcome{metric: metrics.DeployFailed, kind: notify.Failed, step: metrics.PhaseHealth, reason: "unhealthy", phases: []metrics.Phase{
				ph(metrics.PhasePull, 2), ph(metrics.PhaseCreate, 0.5), ph(metrics.PhaseHealth, 5)}}, true},
		{"failed before any step", deployer.Event{Outcome: deployer.OutcomeFailed + "image not allowed", Time: end},
			outcome{metric: metrics.DeployFailed, kind: notify.Failed, step: "prepare", reason: "image not allowed"}, true},
		{"rolled back in the watch", deployer.Event{Outcome: deployer.OutcomeRolledBack + "container died", Steps: full[:7], Time: full[6].At.Add(2 * time.Second),
			Received: t0},
			outcome{metric: metrics.DeployRolledBack, kind: notify.RolledBack, reason: "container died", phases: []metrics.Phase{
				ph(metrics.PhasePull, 2), ph(metrics.PhaseCreate, 0.5), ph(metrics.PhaseHealth, 1),
				ph(metrics.PhaseSwitch, 0.03), ph(metrics.PhaseWatch, 2)}}, true},
		{"recovered: no phases, the note as reason", deployer.Event{Outcome: deployer.OutcomeRolledBack + "new container gone", Steps: full[:7],
			Note: "recovered by b", Time: end},
			outcome{metric: metrics.DeployRolledBack, kind: notify.RolledBack, step: "recover", reason: "new container gone (recovered by b)"}, true},
		{"failed in the release command", deployer.Event{Outcome: deployer.OutcomeFailed + "release command failed: exited 3",
			Steps: steps(t0, deployer.StepLocked, 0.0, deployer.StepPulled, 2.0, deployer.StepReleasing, 0.5), Time: t0.Add(5500 * time.Millisecond)},
			outcome{metric: metrics.DeployFailed, kind: notify.Failed, step: metrics.PhaseRelease, reason: "release command failed: exited 3",
				phases: []metrics.Phase{ph(metrics.PhasePull, 2), ph(metrics.PhaseRelease, 3.5)}}, true},
		{"a re-route is no deploy outcome", deployer.Event{Outcome: "rerouted", Steps: full[:2], Time: end}, outcome{}, false},
		{"teardown is no deploy outcome", deployer.Event{Outcome: "torn down", Time: end}, outcome{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := deployOutcome(tt.ev)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("deployOutcome = %+v, %v\nwant %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRequestOutcome(t *testing.T) {
	for _, tt := range []struct {
		outcome string
		want    outcome
		ok      bool
	}{
		{"duplicate: r/x:v1 already serves", outcome{metric: metrics.DeploySkipped}, true},
		{"failed: manifest unknown", outcome{metric: metrics.DeployFailed, kind: notify.Failed, step: "resolve", reason: "manifest unknown"}, true},
		{"ignored: stale", outcome{}, false},
	} {
		got, ok := requestOutcome(deployer.Event{Outcome: tt.outcome})
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("requestOutcome(%q) = %+v, %v; want %+v, %v", tt.outcome, got, ok, tt.want, tt.ok)
		}
	}
}
