package deploystream

import (
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

// Event types, as the SSE "event:" field and Event.Type spell them.
const (
	TypeStep     = "step"     // a deploy reached a step
	TypeFinished = "finished" // a deploy's outcome was recorded
)

// Event is one message of the stream: a step a deploy reached, or its
// recorded outcome.
type Event struct {
	Type     string `json:"type"`
	Workload string `json:"workload"`
	Deploy   string `json:"deploy"`
	Image    string `json:"image,omitempty"` // repository:tag
	Tag      string `json:"tag,omitempty"`
	Digest   string `json:"digest,omitempty"`
	Source   string `json:"source,omitempty"`
	// Step is the step reached (TypeStep), with when and how long it took.
	Step string        `json:"step,omitempty"`
	At   time.Time     `json:"at"`
	Took time.Duration `json:"took,omitempty"`
	Note string        `json:"note,omitempty"`
	// Steps are every step so far (TypeStep) or of the whole deploy
	// (TypeFinished), so a client that joins mid-deploy sees them all.
	Steps []deployer.StepTime `json:"steps,omitempty"`
	// Outcome is the history's outcome (TypeFinished): "deployed",
	// "rerouted", "failed: <reason>", "rolled back: <reason>".
	Outcome string `json:"outcome,omitempty"`
	// Succeeded tells (TypeFinished) whether the outcome serves what was
	// asked for: deployed or rerouted.
	Succeeded bool `json:"succeeded,omitempty"`
}

// StepEvent is the event of a deploy that just journaled its last step.
func StepEvent(j deployer.Journal) Event {
	ev := Event{
		Type: TypeStep, Workload: j.Workload, Deploy: j.ID, Image: j.Image, Tag: j.Tag,
		Digest: j.Digest, Source: j.Source, Step: j.Step, At: time.Now().UTC(), Steps: j.Steps,
	}
	if n := len(j.Steps); n > 0 {
		last := j.Steps[n-1]
		ev.Step, ev.At, ev.Took, ev.Note = last.Step, last.At, last.Took, last.Note
	}
	return ev
}

// FinishedEvent is the event of an outcome recorded in workload's history.
func FinishedEvent(workload string, h deployer.Event) Event {
	return Event{
		Type: TypeFinished, Workload: workload, Deploy: h.Deploy, Image: h.Image, Tag: h.Tag,
		Digest: h.Digest, Source: h.Source, At: h.Time, Took: h.Took, Note: h.Note, Steps: h.Steps,
		Outcome: h.Outcome, Succeeded: Succeeded(h.Outcome),
	}
}

// Succeeded reports whether a history outcome serves what the deploy was
// asked for.
func Succeeded(outcome string) bool {
	return outcome == deployer.OutcomeDeployed || outcome == "rerouted"
}
