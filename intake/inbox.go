package intake

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/redisstore"
)

// inbox consumes the durable inbox: every accepted operation (delivery,
// rollback, teardown, converge) becomes a request on the deploy queue, the
// only way onto it, and its entry is acknowledged only once the request
// that covers it has finished. The stream is the durable inbox, the queue
// is the scheduler: a sidecar killed at any point finds the
// unacknowledged entries again on restart and submits them again in
// stream order, so the queue rebuilds the same decisions.
type inbox struct {
	store    InboxStore
	events   EventStore
	submit   func(...deployer.Request) error
	consumer string
	log      zerolog.Logger

	mu sync.Mutex
	// unacked holds the ids of finished requests whose acknowledgement
	// failed; they go with the next acknowledgement.
	unacked []string
}

func newInbox(store Store, submit func(...deployer.Request) error, consumer string, log zerolog.Logger) *inbox {
	return &inbox{
		store: store, events: store, submit: submit, consumer: consumer,
		log: log.With().Str(logkey.Component, "inbox").Logger(),
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
	// What this consumer and dead ones left unfinished is submitted again
	// as one batch in stream order: the queue then takes the same
	// decisions as before the restart (a rollback still supersedes the
	// delivery pending before it).
	var own []redisstore.InboxEntry
	if !retry("read unacknowledged inbox entries", func() error {
		mine, err := box.store.OwnPending(ctx, box.consumer)
		if err != nil {
			return err
		}
		claimed, err := box.store.ClaimDead(ctx, box.consumer)
		if err != nil {
			return err
		}
		own = append(mine, claimed...)
		slices.SortFunc(own, func(a, b redisstore.InboxEntry) int { return redisstore.CompareIDs(a.ID, b.ID) })
		return nil
	}) {
		return
	}
	lastClaim := time.Now()
	if len(own) > 0 {
		box.log.Info().Int("entries", len(own)).Msg("resuming requests accepted before a restart")
	}
	if !box.handle(ctx, own) {
		return
	}
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

// handle turns entries, in arrival order, into queued requests, one
// entry each, submitted as one batch (the queue merges them, deciding
// over the whole batch before any of it runs: after a restart, a rollback
// accepted behind a pending delivery still supersedes it). Entries that cannot run
// (undecodable, an unknown kind, or a delivery older than a push already
// accepted) are recorded and acknowledged together, one round trip per
// batch. It returns false when the queue takes no more requests
// (shutdown): the rest stay unacknowledged for the next start.
func (box *inbox) handle(ctx context.Context, entries []redisstore.InboxEntry) bool {
	var reqs []deployer.Request
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
		kind, err := deployer.ParseKind(string(e.Kind))
		if e.Workload == "" || err != nil {
			log.Error().AnErr("error", err).Msg("inbox entry does not decode: dropped")
			drop = append(drop, e.ID)
			continue
		}
		if kind == deployer.KindDeliver { // only pushes have a registry's order to keep
			if ok, newer := box.admit(ctx, e); !ok {
				ev := deliveryEvent(time.Now().UTC(), e.Source, e.Delivery, "", e.Image+":"+e.Tag, e.Digest,
					OutcomeIgnored+": stale: pushed before "+newer+", which was accepted already")
				ev.Workload = e.Workload
				logEvent(box.log, ev, "request ignored")
				events = append(events, ev)
				drop = append(drop, e.ID)
				continue
			}
		}
		reqs = append(reqs, deployer.Request{Kind: kind, Workload: e.Workload, Tag: e.Tag, Digest: e.Digest, Source: e.Source,
			Delivery: e.Delivery, Entries: []string{e.ID}, Received: e.Received})
		log.Debug().Str("kind", string(kind)).Msg("queued")
	}
	if err := box.submit(reqs...); err != nil {
		box.log.Info().Err(err).Int("entries", len(reqs)).Msg("not queued; left for the next start")
		return false
	}
	return true
}

// done settles a finished request: it records the requests it
// superseded in their workload's history and acknowledges exactly the
// entries it covers (see deployer.Request.Covers). A request cut short by
// shutdown acknowledges nothing: it is redone on the next start, and so
// are the requests it superseded, in their order.
func (box *inbox) done(ctx context.Context, req deployer.Request) {
	if ctx.Err() != nil {
		return
	}
	ids := req.Covers()
	if len(ids) == 0 {
		return
	}
	for _, sup := range req.Superseded {
		box.recordSuperseded(ctx, req, sup)
	}
	box.mu.Lock()
	ids, box.unacked = append(box.unacked, ids...), nil
	box.mu.Unlock()
	if !box.ack(ctx, ids...) {
		box.mu.Lock()
		box.unacked = append(box.unacked, ids...)
		box.mu.Unlock()
	}
}

// recordSuperseded writes to the history that sup will not run because
// the barrier by came after it.
func (box *inbox) recordSuperseded(ctx context.Context, by, sup deployer.Request) {
	ev := deployer.Event{Time: time.Now().UTC(), Workload: sup.Workload, Source: sup.Source, Delivery: sup.Delivery,
		Tag: sup.Tag, Digest: sup.Digest, Outcome: fmt.Sprintf("%s: by the %s (%s) requested after it", OutcomeSuperseded, by.Kind, by.Source)}
	logEvent(box.log, ev, "request superseded")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := box.events.AppendEvent(ctx, sup.Workload, ev); err != nil {
		box.log.Warn().Err(err).Str(logkey.Workload, sup.Workload).Msg("record superseded request")
	}
}

func (box *inbox) ack(ctx context.Context, ids ...string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := box.store.AckInbox(ctx, ids...); err != nil {
		box.log.Warn().Err(err).Strs("entries", ids).Msg("acknowledge inbox entries; retried with the next ones, or redone (as no-ops) on the next start")
		return false
	}
	return true
}
