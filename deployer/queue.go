package deployer

import (
	"context"
	"sync"
	"time"
)

// Queue serialises deploys per workload and coalesces bursts: while a
// deploy of W runs, newer requests for W replace each other, so a burst
// ends on the newest request with at most two deploys. Different workloads
// deploy concurrently. A request that arrives while a deploy of its
// workload runs also tells that deploy it is superseded (see Superseded),
// so it ends its post-switch watch instead of making the newer one wait.
type Queue struct {
	run func(context.Context, Request)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	slots  map[string]*slot
	closed bool
}

type slot struct {
	pending *Request
	running Request       // the request of the deploy running
	newer   chan struct{} // of the deploy running; closed when a request arrives
}

// NewQueue returns a queue that executes each request with run.
func NewQueue(run func(context.Context, Request)) *Queue {
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{run: run, ctx: ctx, cancel: cancel, slots: map[string]*slot{}}
}

// Submit queues r; it never blocks on a deploy.
func (q *Queue) Submit(r Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	if s, busy := q.slots[r.Workload]; busy {
		s.pending = &r                                // newest wins
		if s.newer != nil && !sameAsk(r, s.running) { // a redelivery supersedes nothing
			close(s.newer)
			s.newer = nil
		}
		return nil
	}
	s := &slot{pending: &r}
	q.slots[r.Workload] = s
	q.wg.Add(1)
	go q.work(r.Workload, s)
	return nil
}

func (q *Queue) work(workload string, s *slot) {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		r := s.pending
		s.pending = nil
		if r == nil || q.closed {
			delete(q.slots, workload)
			q.mu.Unlock()
			return
		}
		newer := make(chan struct{})
		s.running, s.newer = *r, newer
		q.mu.Unlock()
		q.run(withSuperseded(q.ctx, newer), *r)
	}
}

// sameAsk reports whether two requests ask for the same thing.
func sameAsk(a, b Request) bool {
	return a.Tag == b.Tag && a.Digest == b.Digest && a.Teardown == b.Teardown && a.Source == b.Source
}

// Busy reports whether a deploy of workload is running or queued.
func (q *Queue) Busy(workload string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.slots[workload]
	return ok
}

// Close stops taking requests, drops the queued ones, ends the post-switch
// watch of a deploy in flight (as a newer request would) and waits for the
// deploys in flight. After grace it cancels them: a cancelled deploy stops
// at its next step and cleans up after itself, which is its safe point.
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
