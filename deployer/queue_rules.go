package deployer

import "slices"

// enqueue is the queue's one rule: it adds r to a workload's pending
// operations (the one running is not among them) and returns the new
// list, in the order they will run.
//
//   - Rollback and teardown are barriers: a later operation never replaces
//     one, nor runs before it. The deliveries and converges pending before
//     a new barrier are superseded by it: they will not run, and their
//     entries are settled when the barrier finishes. A teardown right
//     after a pending teardown joins it (a teardown is idempotent).
//   - A delivery replaces the delivery or converge pending after the last
//     barrier (the newest push wins) and takes over its entries.
//   - A converge never replaces a pending delivery (the delivery deploys
//     under the current labels anyway): it joins it. After a converge it
//     replaces it; otherwise it queues.
//
// So at most one delivery or converge waits after the last barrier, and
// every entry ends up in exactly one request that will run.
func enqueue(pending []Request, r Request) []Request {
	pending = slices.Clone(pending)
	b := -1 // index of the last barrier
	for i := len(pending) - 1; i >= 0; i-- {
		if pending[i].kind().Barrier() {
			b = i
			break
		}
	}
	tail := pending[b+1:] // deliveries and converges: at most one
	if r.kind().Barrier() {
		r.Superseded = slices.Concat(r.Superseded, tail)
		pending = pending[:b+1]
		if r.kind() == KindTeardown && b >= 0 && pending[b].kind() == KindTeardown {
			pending[b] = join(pending[b], r)
			return pending
		}
		return append(pending, r)
	}
	if len(tail) == 0 {
		return append(pending, r)
	}
	prev := tail[len(tail)-1]
	if r.kind() == KindConverge && prev.kind() == KindDeliver {
		pending[len(pending)-1] = join(prev, r)
		return pending
	}
	r.Entries = slices.Concat(prev.Entries, r.Entries) // the newest wins
	pending[len(pending)-1] = r
	return pending
}

// join is into with other merged into it: into runs, and settles other's
// entries (and what other superseded) as well.
func join(into, other Request) Request {
	into.Entries = slices.Concat(into.Entries, other.Entries)
	into.Superseded = slices.Concat(into.Superseded, other.Superseded)
	return into
}
