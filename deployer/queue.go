package deployer

import (
	"context"
	"sync"
	"time"
)

// Queue serialises the operations of each workload and decides which of
// them still run: per workload it keeps an ordered list of pending
// operations, which enqueue maintains (bursts of deliveries coalesce to
// the newest, a rollback or teardown is never replaced). Different
// workloads run concurrently. A request that arrives while an operation
// of its workload runs also tells that operation it is superseded (see
// Superseded), so a deploy ends its post-switch watch instead of making
// the newer one wait.
type Queue struct {
	run func(context.Context, Request)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	slots  map[string]*slot
	closed bool
}

// slot is a workload with an operation running; pending wait behind it.
type slot struct {
	pending []Request
	running Request       // the request of the operation running
	newer   chan struct{} // of the operation running; closed when a request arrives
}

// NewQueue returns a queue that executes each request with run.
func NewQueue(run func(context.Context, Request)) *Queue {
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{run: run, ctx: ctx, cancel: cancel, slots: map[string]*slot{}}
}

// Submit queues rs, in order, as one batch: every request of the batch
// is in its workload's pending list before any of them starts, so the
// queue's rule decides over all of them together (a rollback in the batch
// supersedes a delivery before it, as when it arrived while the delivery
// waited). It never blocks on a deploy.
func (q *Queue) Submit(rs ...Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	for _, r := range rs {
		q.submitLocked(r)
	}
	return nil
}

// submitLocked queues r; the caller holds q.mu. A workload's worker
// started here waits for q.mu, so it starts after the whole batch.
func (q *Queue) submitLocked(r Request) {
	if s, busy := q.slots[r.Workload]; busy {
		s.pending = enqueue(s.pending, r)
		if s.newer != nil && !sameAsk(r, s.running) { // a redelivery supersedes nothing
			close(s.newer)
			s.newer = nil
		}
		return
	}
	s := &slot{pending: enqueue(nil, r)}
	q.slots[r.Workload] = s
	q.wg.Add(1)
	go q.work(r.Workload, s)
}

func (q *Queue) work(workload string, s *slot) {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(s.pending) == 0 || q.closed {
			delete(q.slots, workload)
			q.mu.Unlock()
			return
		}
		r := s.pending[0]
		s.pending = s.pending[1:]
		newer := make(chan struct{})
		s.running, s.newer = r, newer
		q.mu.Unlock()
		q.run(withSuperseded(q.ctx, newer), r)
	}
}

// sameAsk reports whether two requests ask for the same thing.
func sameAsk(a, b Request) bool {
	return a.kind() == b.kind() && a.Tag == b.Tag && a.Digest == b.Digest && a.Source == b.Source
}

// Busy reports whether an operation of workload is running or queued.
func (q *Queue) Busy(workload string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.slots[workload]
	return ok
}

// Close stops taking requests, drops the queued ones (their inbox
// entries stay for the next start), ends the post-switch watch of a
// deploy in flight (as a newer request would) and waits for the
// operations in flight. After grace it cancels them: a cancelled deploy
// stops at its next step and cleans up after itself, which is its safe
// point.
func (q *Queue) Close(grace time.Duration) {
	q.mu.Lock()
	q.closed = true
	for _, s := range q.slots {
		s.pending = nil
		if s.newer != nil { // a deploy in its watch ends it, so shutdown does not wait for it
			close(s.newer)
			s.newer = nil
		}
	}
	q.mu.Unlock()

	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		q.cancel()
		<-done
	}
	q.cancel()
}
