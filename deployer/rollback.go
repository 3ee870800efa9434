package deployer

import "strings"

// RollbackTarget picks what a rollback deploys: the newest successful
// deploy in history (newest first) whose digest differs from current, the
// digest serving now ("" when unknown: then the newest successful deploy
// counts as current). Successive rollbacks therefore alternate between
// the last two good images, as people expect of an undo.
func RollbackTarget(history []Event, current string) (Event, bool) {
	if current == "" {
		for _, ev := range history {
			if ev.Outcome == OutcomeDeployed && ev.Digest != "" {
				current = ev.Digest
				break
			}
		}
	}
	for _, ev := range history {
		if ev.Outcome == OutcomeDeployed && ev.Digest != "" && ev.Digest != current {
			return ev, true
		}
	}
	return Event{}, false
}

// RollbackRequest is the deploy request that rolls back to ev: exactly its
// digest (a request with a digest pulls and runs repository@digest),
// whatever its tag points at now.
func RollbackRequest(workload string, ev Event) Request {
	tag := ev.Tag
	if i := strings.LastIndexByte(ev.Image, ':'); tag == "" && i > strings.LastIndexByte(ev.Image, '/') {
		tag = ev.Image[i+1:] // events written before Tag was recorded
	}
	return Request{Kind: KindRollback, Workload: workload, Tag: tag, Digest: ev.Digest, Source: "rollback"}
}
