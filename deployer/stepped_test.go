package deployer

import (
	"context"
	"slices"
	"testing"
)

// TestOnStepSeesEveryJournaledStep: a deploy tells OnStep each step in
// order as it is journaled, each time with the steps so far, and the
// history record holds the same steps up to the watch: the deploy is
// recorded when its watch ends, before it journals the drain (StepWatched)
// that runs in the background.
func TestOnStepSeesEveryJournaledStep(t *testing.T) {
	f := newFixture(t)
	var seen []string
	var lastLen int
	f.engine.OnStep = func(j Journal) {
		if j.Workload != "web" || j.ID == "" || j.Tag != "v1" {
			t.Errorf("OnStep journal %+v: want workload web, an id, tag v1", j)
		}
		if len(j.Steps) != lastLen+1 {
			t.Errorf("OnStep at %s with %d steps, want %d", j.Step, len(j.Steps), lastLen+1)
		}
		lastLen = len(j.Steps)
		seen = append(seen, j.Steps[len(j.Steps)-1].Step)
	}
	f.docker.digests["reg.local/web:v1"] = "sha256:aaa"
	if _, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v1", Source: "test"}); err != nil {
		t.Fatal(err)
	}
	want := []string{StepLocked, StepPulled, StepCreated, StepStarted, StepHealthy, StepSwitching, StepSwitched, StepWatched}
	if !slices.Equal(seen, want) {
		t.Fatalf("OnStep saw %v, want %v", seen, want)
	}
	var recorded []string
	for _, st := range f.store.events["web"][0].Steps {
		recorded = append(recorded, st.Step)
	}
	if !slices.Equal(recorded, seen[:len(seen)-1]) {
		t.Fatalf("history steps %v, OnStep saw %v (want all but the drain's %s)", recorded, seen, StepWatched)
	}
}
