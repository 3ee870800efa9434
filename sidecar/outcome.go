package sidecar

import (
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/intake"
	"github.com/tinyforge/tinyforge/metrics"
	"github.com/tinyforge/tinyforge/notify"
)

// outcome is what a finished deploy (or a request that ended before one)
// amounts to for metrics and notifications.
type outcome struct {
	metric  string      // tinyforge_deploys_total{outcome}
	kind    notify.Kind // "" sends no message (skipped)
	phases  []metrics.Phase
	toServe time.Duration // request received to routes switched; 0 when it did not serve
	step    string        // failed: the phase it failed in
	reason  string        // failed, rolled back: why
}

// stepPhase is the phase of the deploy a journaled step ends.
var stepPhase = map[string]string{
	deployer.StepPulled:    metrics.PhasePull,
	deployer.StepReleasing: metrics.PhaseRelease,
	deployer.StepReleased:  metrics.PhaseRelease,
	deployer.StepCreated:   metrics.PhaseCreate,
	deployer.StepStarted:   metrics.PhaseCreate,
	deployer.StepHealthy:   metrics.PhaseHealth,
	deployer.StepSwitching: metrics.PhaseSwitch,
	deployer.StepSwitched:  metrics.PhaseSwitch,
	deployer.StepWatched:   metrics.PhaseWatch,
}

// phaseAfter is the phase a deploy is in once it reached a step: where
// the time after the last step went, and where a failure happened.
var phaseAfter = map[string]string{
	deployer.StepLocked:    metrics.PhasePull,
	deployer.StepPulled:    metrics.PhaseCreate, // or release: the release command's container is being created
	deployer.StepReleasing: metrics.PhaseRelease,
	deployer.StepReleased:  metrics.PhaseCreate,
	deployer.StepCreated:   metrics.PhaseCreate,
	deployer.StepStarted:   metrics.PhaseHealth,
	deployer.StepHealthy:   metrics.PhaseSwitch,
	deployer.StepSwitching: metrics.PhaseSwitch,
	deployer.StepSwitched:  metrics.PhaseWatch,
	deployer.StepWatched:   metrics.PhaseDrain, // a drain recovered after a crash (else: observer.Drained)
}

// deployOutcome reads a deploy's history record. A re-route (labels
// changed the faces) is no deploy outcome: ok is false.
func deployOutcome(ev deployer.Event) (o outcome, ok bool) {
	switch {
	case ev.Outcome == deployer.OutcomeDeployed:
		o = outcome{metric: metrics.DeploySucceeded, kind: notify.Succeeded}
	case strings.HasPrefix(ev.Outcome, deployer.OutcomeRolledBack):
		o = outcome{metric: metrics.DeployRolledBack, kind: notify.RolledBack, reason: strings.TrimPrefix(ev.Outcome, deployer.OutcomeRolledBack)}
	case strings.HasPrefix(ev.Outcome, deployer.OutcomeFailed):
		o = outcome{metric: metrics.DeployFailed, kind: notify.Failed, reason: strings.TrimPrefix(ev.Outcome, deployer.OutcomeFailed)}
	default:
		return outcome{}, false
	}
	if ev.Note != "" { // recovered after a crash: its steps span two sidecars
		o.step, o.reason = "recover", strings.TrimSpace(o.reason+" ("+ev.Note+")")
		return o, true
	}
	o.phases, o.step = phases(ev.Steps, ev.Time)
	if o.kind != notify.Failed {
		o.step = ""
	}
	for _, st := range ev.Steps {
		if st.Step == deployer.StepSwitched && o.metric == metrics.DeploySucceeded {
			from := ev.Received
			if from.IsZero() {
				from = ev.Started
			}
			o.toServe = max(st.At.Sub(from), 0)
		}
	}
	return o, true
}

// phases sums the time of the journaled steps per phase, the time from
// the last step to the end (at) going to the phase the deploy was in;
// that phase is returned too ("prepare" when no step was reached).
func phases(steps []deployer.StepTime, at time.Time) ([]metrics.Phase, string) {
	if len(steps) == 0 {
		return nil, "prepare"
	}
	var out []metrics.Phase
	add := func(name string, d time.Duration) {
		for i := range out {
			if out[i].Name == name {
				out[i].Took += d
				return
			}
		}
		out = append(out, metrics.Phase{Name: name, Took: d})
	}
	for _, st := range steps {
		if p, ok := stepPhase[st.Step]; ok {
			add(p, st.Took)
		}
	}
	last := steps[len(steps)-1]
	current, ok := phaseAfter[last.Step]
	if !ok {
		return out, last.Step
	}
	if rest := at.Sub(last.At); rest > 0 {
		add(current, rest)
	}
	return out, current
}

// requestOutcome reads the record of a request that ended before the
// deployer: a tag the registry does not have fails at "resolve", a digest
// already serving is skipped (no message).
func requestOutcome(ev deployer.Event) (outcome, bool) {
	switch {
	case strings.HasPrefix(ev.Outcome, intake.OutcomeDuplicate):
		return outcome{metric: metrics.DeploySkipped}, true
	case strings.HasPrefix(ev.Outcome, deployer.OutcomeFailed):
		return outcome{metric: metrics.DeployFailed, kind: notify.Failed, step: "resolve",
			reason: strings.TrimPrefix(ev.Outcome, deployer.OutcomeFailed)}, true
	}
	return outcome{}, false
}
