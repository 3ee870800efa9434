package deployer

import (
	"errors"
	"fmt"
	"strings"
)

// ErrRollbackTarget: the target a rollback names is not a successful
// deploy in the workload's history, or is what serves now.
var ErrRollbackTarget = errors.New("rollback target")

// RollbackChoices are the successful deploys a rollback may go back to:
// one per digest (the newest deploy of it), newest first, without the
// digest serving now. history is newest first.
func RollbackChoices(history []Event, current string) []Event {
	var out []Event
	seen := map[string]bool{current: true}
	for _, ev := range history {
		if ev.Outcome == OutcomeDeployed && ev.Digest != "" && !seen[ev.Digest] {
			seen[ev.Digest] = true
			out = append(out, ev)
		}
	}
	return out
}

// RollbackTo picks what a rollback to "to" deploys: with to empty, the
// previous good image (RollbackTarget); with a digest ("sha256:...": a tag
// never holds a colon), the newest successful deploy of exactly it;
// otherwise to is a tag, and the newest successful deploy of that tag. A target that is not in history
// as a success, or that serves already, is an ErrRollbackTarget: a
// rollback only ever goes back to an image that once served.
func RollbackTo(history []Event, current, to string) (Event, error) {
	if to == "" {
		ev, ok := RollbackTarget(history, current)
		if !ok {
			return Event{}, ErrNoRollback
		}
		return ev, nil
	}
	byDigest := strings.Contains(to, ":")
	for _, ev := range history {
		if ev.Outcome != OutcomeDeployed || ev.Digest == "" {
			continue
		}
		if (byDigest && ev.Digest == to) || (!byDigest && eventTag(ev) == to) {
			if ev.Digest == current {
				return Event{}, fmt.Errorf("%w: %s already serves (%s)", ErrRollbackTarget, to, ev.Digest)
			}
			return ev, nil
		}
	}
	what := "tag"
	if byDigest {
		what = "digest"
	}
	return Event{}, fmt.Errorf("%w: no successful deploy of %s %s in the workload's history", ErrRollbackTarget, what, to)
}

// eventTag is the tag a history event deployed (parsed from its image for
// events written before Tag was recorded).
func eventTag(ev Event) string {
	if ev.Tag != "" {
		return ev.Tag
	}
	if i := strings.LastIndexByte(ev.Image, ':'); i > strings.LastIndexByte(ev.Image, '/') {
		return ev.Image[i+1:]
	}
	return ""
}
