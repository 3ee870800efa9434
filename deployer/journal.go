package deployer

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// Deploy steps, in order. A journal records the last step a deploy
// reached, so a sidecar that died mid-deploy can be finished or undone by
// the next one (see recover.go). The test hook (Config.AtStep) is called
// after each of them.
const (
	StepLocked = "locked" // lock held, nothing done yet
	StepPulled = "pulled" // image pulled, digest known
	// StepReleasing: the one-off container of the release command was
	// created and started (its id in the journal, Release).
	StepReleasing = "releasing"
	StepReleased  = "released"  // the release command exited 0; its container is gone
	StepCreated   = "created"   // new container created (id in the journal)
	StepStarted   = "started"   // new container running
	StepHealthy   = "healthy"   // new container passed its health check
	StepSwitching = "switching" // proxy writes in progress (routes in the journal)
	StepSwitched  = "switched"  // routes point at the new container
	// StepWatched: the post-switch watch passed (or a newer request ended
	// it), the deploy is recorded, and the containers it replaced are
	// retired in the background from RetireAt on (see drain.go).
	StepWatched = "watched"
)

// stepOrder ranks the steps; an unknown step ranks 0 (before the switch).
var stepOrder = map[string]int{
	StepLocked: 1, StepPulled: 2, StepReleasing: 3, StepReleased: 4, StepCreated: 5, StepStarted: 6,
	StepHealthy: 7, StepSwitching: 8, StepSwitched: 9, StepWatched: 10,
}

// beforeSwitch reports whether a deploy at step had not yet touched routes.
func beforeSwitch(step string) bool { return stepOrder[step] < stepOrder[StepSwitching] }

// Journal is the record of one deploy in flight, kept in the shared store
// from the moment the lock is held until the deploy is finished or undone.
type Journal struct {
	ID        string `json:"id"`
	Workload  string `json:"workload"`
	Image     string `json:"image"` // repository:tag
	Tag       string `json:"tag"`
	Digest    string `json:"digest,omitempty"`
	Source    string `json:"source,omitempty"`
	Step      string `json:"step"`
	Container string `json:"container,omitempty"` // id of the new container
	// Release is the id of the release command's one-off container while
	// it may exist (StepReleasing); recovery removes it.
	Release  string     `json:"release,omitempty"`
	Name     string     `json:"name,omitempty"`     // name of the new container
	Keep     int        `json:"keep"`               // containers to keep after the deploy
	Previous []Route    `json:"previous,omitempty"` // routes before the switch
	Routes   []Route    `json:"routes,omitempty"`   // routes of the switch
	Epoch    int64      `json:"epoch"`
	Owner    string     `json:"owner,omitempty"`
	Started  time.Time  `json:"started"`
	Steps    []StepTime `json:"steps,omitempty"`
	// RetireAt is when the containers the deploy replaced may be stopped:
	// the switch plus the drain time (StepWatched on).
	RetireAt time.Time `json:"retire_at,omitzero"`
	// Recorded: the deploy's outcome is in the history already.
	Recorded bool `json:"recorded,omitempty"`
}

// StepTime is when a deploy reached a step, and how long the step took.
type StepTime struct {
	Step string        `json:"step"`
	At   time.Time     `json:"at"`
	Took time.Duration `json:"took"`
	Note string        `json:"note,omitempty"` // e.g. StepDNS: the records not in place
}

// previousContainer is the container the routes pointed at before the
// switch ("" when there were no routes).
func (j Journal) previousContainer() string {
	for _, r := range j.Previous {
		if r.Container != "" {
			return r.Container
		}
	}
	return ""
}

// step journals that the deploy reached step, together with w, in one
// fenced commit: a deploy whose lease was superseded stops here with
// ErrFenced before touching anything else.
func (d *deploy) step(ctx context.Context, step string, w Writes) error {
	now := d.Now()
	d.j.Step = step
	d.j.Steps = append(d.j.Steps, StepTime{Step: step, At: now.UTC(), Took: now.Sub(d.stepAt)})
	d.stepAt = now
	if err := d.commit(ctx, w); err != nil {
		return fmt.Errorf("journal step %s: %w", step, err)
	}
	d.log.Debug().Str(logkey.Step, step).Msg("step reached")
	d.stepped()
	if d.AtStep != nil {
		d.AtStep(ctx, step)
	}
	return nil
}

// commit writes w with the current journal under the deploy's lease.
func (d *deploy) commit(ctx context.Context, w Writes) error {
	j := d.j
	j.Steps = slices.Clone(d.j.Steps)
	j.Previous, j.Routes = slices.Clone(d.j.Previous), slices.Clone(d.j.Routes)
	w.Journal = &j
	return d.Coord.Commit(ctx, d.lease, w)
}
