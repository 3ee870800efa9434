package intake

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/redisstore"
)

// inbox consumes the durable inbox: every accepted request becomes a
// deploy request on the coalescing queue, and its entry is acknowledged
// only once a deploy that covers it has finished. The stream is the
// durable inbox, the queue is the scheduler: a sidecar killed at any point
// finds the unacknowledged entries again on restart and deploys them.
type inbox struct {
	store    InboxStore
	events   EventStore
	submit   func(deployer.Request) error
	consumer string
	log      zerolog.Logger

	mu sync.Mutex
	// pending lists, per workload, the ids of entries submitted and not yet
	// acknowledged, in arrival order.
	pending map[string][]string
}

func newInbox(store Store, submit func(deployer.Request) error, consumer string, log zerolog.Logger) *inbox {
	return &inbox{
		store: store, events: store, submit: submit, consumer: consumer,
		log:     log.With().Str(logkey.Component, "inbox").Logger(),
		pending: map[string][]string{},
	}
}

// run consumes until ctx ends or the queue closes. ready must succeed
// first (it lists the controllers): an entry read before would name a
// workload not known yet. Then it takes over the entries a previous
// process read but never acknowledged, and reads new ones.
func (box *inbox) run(ctx context.Context, ready func(context.Context) error) {
	backoff := 100 * time.Millisecond
	retry := func(what string, f func() error) bool {
		for {
			err := f()
			if err == nil {
				backoff = 100 * time.Millisecond
				return true
			}
			if ctx.Err() != nil {
				return false
			}
			box.log.Warn().Err(err).Dur("retry_in", backoff).Msg(what)
			select {
			case <-ctx.Done():
				return false
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}
	if !retry("list controllers", func() error { return ready(ctx) }) ||
		!retry("create inbox consumer group", func() error { return box.store.EnsureInbox(ctx) }) {
		return
	}
	defer func() { // a clean stop hands what it did not finish to its siblings at once
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = box.store.Heartbeat(ctx, box.consumer, time.Millisecond)
	}()
	var own []redisstore.InboxEntry
	if !retry("read own unacknowledged inbox entries", func() (err error) {
		own, err = box.store.OwnPending(ctx, box.consumer)
		return err
	}) {
		return
	}
	if len(own) > 0 {
		box.log.Info().Int("entries", len(own)).Msg("resuming requests accepted before a restart")
	}
	if !box.handle(ctx, own) {
		return
	}
	var lastClaim time.Time
	for ctx.Err() == nil {
		var entries []redisstore.InboxEntry
		if !retry("read inbox", func() (err error) {
			if err := box.store.Heartbeat(ctx, box.consumer, heartbeatTTL); err != nil {
				return err
			}
			if time.Since(lastClaim) >= claimEvery {
				claimed, err := box.store.ClaimDead(ctx, box.consumer)
				if err != nil {
					return err
				}
				lastClaim = time.Now()
				if len(claimed) > 0 {
					box.log.Info().Int("entries", len(claimed)).Msg("resuming requests accepted before a restart (by a sidecar that stopped)")
				}
				entries = claimed
			}
			more, err := box.store.ReadInbox(ctx, box.consumer, 100, time.Second)
			entries = append(entries, more...)
			return err
		}) {
			return
		}
		if !box.handle(ctx, entries) {
			return
		}
	}
}

// A consumer beats every loop (at most a second apart, the read's block)
// and is taken for dead heartbeatTTL after its last beat; every claimEvery
// the entries of dead consumers are taken over.
const (
	heartbeatTTL = 5 * time.Second
	claimEvery   = 2 * time.Second
)

// handle turns entries, in arrival order, into queued deploy requests.
// Entries that cannot deploy (undecodable, or older than a push already
// accepted) are recorded and acknowledged together, one round trip per
// batch. It returns false when the queue takes no more requests
// (shutdown): the rest stay unacknowledged for the next start.
func (box *inbox) handle(ctx context.Context, entries []redisstore.InboxEntry) bool {
	var drop []string
	var events []deployer.Event
	defer func() {
		if len(events) > 0 {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := box.events.Accept(ctx, 0, nil, events); err != nil {
				box.log.Warn().Err(err).Msg("record dropped requests")
			}
		}
		if len(drop) > 0 {
			box.ack(ctx, drop...)
		}
	}()
	for _, e := range entries {
		log := box.log.With().Str(logkey.Workload, e.Workload).Str(logkey.Tag, e.Tag).Str(logkey.Source, e.Source).
			Str(logkey.Delivery, e.Delivery).Str("entry", e.ID).Logger()
		if e.Workload == "" {
			log.Error().Msg("inbox entry does not decode: dropped")
			drop = append(drop, e.ID)
			continue
		}
		if ok, newer := box.admit(ctx, e); !ok {
			ev := deliveryEvent(time.Now().UTC(), e.Source, e.Delivery, "", e.Image+":"+e.Tag, e.Digest,
				OutcomeIgnored+": stale: pushed before "+newer+", which was accepted already")
			ev.Workload = e.Workload
			logEvent(box.log, ev, "request ignored")
			events = append(events, ev)
			drop = append(drop, e.ID)
			continue
		}
		box.mu.Lock()
		box.pending[e.Workload] = append(box.pending[e.Workload], e.ID)
		box.mu.Unlock()
		req := deployer.Request{Workload: e.Workload, Tag: e.Tag, Digest: e.Digest, Source: e.Source, Delivery: e.Delivery, Entry: e.ID}
		if err := box.submit(req); err != nil {
			box.mu.Lock()
			box.pending[e.Workload] = removeID(box.pending[e.Workload], e.ID)
			box.mu.Unlock()
			log.Info().Err(err).Msg("not queued; left for the next start")
			return false
		}
		log.Debug().Msg("queued")
	}
	return true
}

// done acknowledges every entry of the request's workload up to the
// request's own: the queue runs the newest request and drops the ones it
// replaced, so a finished deploy covers all earlier entries. A deploy cut
// short by shutdown acknowledges nothing: it is redone on the next start.
func (box *inbox) done(ctx context.Context, req deployer.Request) {
	if req.Entry == "" || ctx.Err() != nil {
		return
	}
	box.mu.Lock()
	var covered, rest []string
	for _, id := range box.pending[req.Workload] {
		if redisstore.CompareIDs(id, req.Entry) <= 0 {
			covered = append(covered, id)
		} else {
			rest = append(rest, id)
		}
	}
	if len(rest) == 0 {
		delete(box.pending, req.Workload)
	} else {
		box.pending[req.Workload] = rest
	}
	box.mu.Unlock()
	if !box.ack(ctx, covered...) {
		box.mu.Lock()
		box.pending[req.Workload] = append(covered, box.pending[req.Workload]...)
		box.mu.Unlock()
	}
}

func (box *inbox) ack(ctx context.Context, ids ...string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := box.store.AckInbox(ctx, ids...); err != nil {
		box.log.Warn().Err(err).Strs("entries", ids).Msg("acknowledge inbox entries; they will be redone (as no-ops) on the next start")
		return false
	}
	return true
}

func removeID(ids []string, id string) []string {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
