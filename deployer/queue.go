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
// workloads run concurrently.
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
		s.pending = enqueue(s.pending, r)
		return nil
	}
	s := &slot{pending: enqueue(nil, r)}
	q.slots[r.Workload] = s
	q.wg.Add(1)
	go q.work(r.Workload, s)
	return nil
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
		q.mu.Unlock()
		q.run(q.ctx, r)
	}
}

// Busy reports whether an operation of workload is running or queued.
func (q *Queue) Busy(workload string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.slots[workload]
	return ok
}

// Close stops taking requests, drops the queued ones (their inbox
// entries stay for the next start) and waits for the operations in
// flight. After grace it cancels them: a cancelled deploy stops at its
// next step and cleans up after itself, which is its safe point.
func (q *Queue) Close(grace time.Duration) {
	q.mu.Lock()
	q.closed = true
	for _, s := range q.slots {
		s.pending = nil
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
