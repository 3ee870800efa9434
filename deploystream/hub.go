package deploystream

import (
	"sync"

	"github.com/tinyforge/tinyforge/deployer"
)

// DefaultBuffer is how many events a subscriber may fall behind before it
// is dropped: a deploy has about ten steps, so this is several deploys.
const DefaultBuffer = 64

// Hub fans events out to subscribers. Publish never blocks: a subscriber
// whose buffer is full is dropped (its channel closed), so a slow client
// can never hold up a deploy. Close ends every subscription.
type Hub struct {
	buffer int

	mu     sync.Mutex
	subs   map[*Sub]struct{}
	seq    uint64
	closed bool
	done   chan struct{}
}

// Sub is one subscription: C carries the events, and is closed when the
// subscriber was dropped, unsubscribed or the hub closed.
type Sub struct {
	C        <-chan Numbered
	ch       chan Numbered
	workload string
	dropped  bool
}

// Numbered is an event with its place in the hub's sequence, the SSE id.
type Numbered struct {
	ID uint64
	Event
}

// NewHub returns a hub whose subscribers may fall buffer events behind
// (DefaultBuffer when buffer <= 0).
func NewHub(buffer int) *Hub {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Hub{buffer: buffer, subs: map[*Sub]struct{}{}, done: make(chan struct{})}
}

// Subscribe returns a subscription to the events of workload ("" = every
// workload), or false once the hub is closed.
func (h *Hub) Subscribe(workload string) (*Sub, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	ch := make(chan Numbered, h.buffer)
	s := &Sub{C: ch, ch: ch, workload: workload}
	h.subs[s] = struct{}{}
	return s, true
}

// Unsubscribe ends s; ending it twice, or after it was dropped, is fine.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Dropped reports whether s was ended because it fell behind.
func (h *Hub) Dropped(s *Sub) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return s.dropped
}

// Publish hands ev to every subscriber that wants it, without blocking.
func (h *Hub) Publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seq++
	n := Numbered{ID: h.seq, Event: ev}
	for s := range h.subs {
		if s.workload != "" && s.workload != ev.Workload {
			continue
		}
		select {
		case s.ch <- n:
		default:
			s.dropped = true
			delete(h.subs, s)
			close(s.ch)
		}
	}
}

// Step publishes a step a deploy journaled: it has the signature of
// deployer.Config.OnStep.
func (h *Hub) Step(j deployer.Journal) { h.Publish(StepEvent(j)) }

// Finished publishes an outcome recorded in history: it has the signature
// of deployer.Config.OnFinished.
func (h *Hub) Finished(workload string, ev deployer.Event) { h.Publish(FinishedEvent(workload, ev)) }

// Close ends every subscription and refuses new ones; the sidecar calls it
// when it shuts down, so open streams end instead of holding the server.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.done)
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Done is closed when the hub closes: other long-lived responses (the
// logs of a workload, followed) end with it.
func (h *Hub) Done() <-chan struct{} { return h.done }
