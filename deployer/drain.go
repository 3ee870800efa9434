package deployer

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// drainTakeover is how long past its retire time (plus the stop grace) a
// drain journal of another sidecar waits before this one takes it over:
// that sidecar is then taken for dead.
const drainTakeover = time.Minute

// drainer retires, in the background, the containers each successful
// deploy replaced: it waits for the journal's RetireAt (the switch plus the
// drain time), then stops (with the stop grace) and removes the workload's
// containers older than the deploy's beyond maxInstances, never a routed
// one, and finally forgets their records and closes the journal. Work is
// kept per workload in order, one goroutine per workload with work; the
// engine owns them (Engine.Close ends them). A journal not finished here
// (shutdown, crash) stays open in the store, and the next start takes it
// over (adopt), so no container is left behind.
type drainer struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	queues  map[string][]Journal // per workload, in the order they came
	owned   map[string]bool      // journal ids queued or in progress here
	settled *sync.Cond           // broadcast whenever a journal is done
}

func newDrainer() *drainer {
	ctx, cancel := context.WithCancel(context.Background())
	dr := &drainer{ctx: ctx, cancel: cancel, queues: map[string][]Journal{}, owned: map[string]bool{}}
	dr.settled = sync.NewCond(&dr.mu)
	return dr
}

// drain hands j (a journal at StepWatched) to the background.
func (e *Engine) drain(j Journal) {
	dr := e.drains
	dr.mu.Lock()
	defer dr.mu.Unlock()
	if dr.closed || dr.owned[j.ID] {
		return
	}
	dr.owned[j.ID] = true
	_, busy := dr.queues[j.Workload] // a goroutine works on it until it deletes the key
	dr.queues[j.Workload] = append(dr.queues[j.Workload], j)
	if !busy {
		dr.wg.Go(func() { e.drainWorkload(j.Workload) })
	}
}

// adopt takes over the drains of journals no goroutine here works on: this
// sidecar's own from before a restart at once, another sidecar's once
// they are overdue by drainTakeover. It never blocks.
func (e *Engine) adopt(js []Journal) {
	for _, j := range js {
		e.drains.mu.Lock()
		mine := e.drains.owned[j.ID]
		e.drains.mu.Unlock()
		overdue := e.Now().After(j.RetireAt.Add(e.StopGrace + drainTakeover))
		if mine || (j.Owner != e.Owner && !overdue) {
			continue
		}
		e.Log.Info().Str(logkey.Workload, j.Workload).Str(logkey.Deploy, j.ID).Str("owner", j.Owner).Msg("taking over an unfinished drain")
		e.drain(j)
	}
}

// drainWorkload works through the workload's queue until it is empty or
// the engine closes.
func (e *Engine) drainWorkload(workload string) {
	dr := e.drains
	for {
		dr.mu.Lock()
		q := dr.queues[workload]
		if len(q) == 0 || dr.closed {
			delete(dr.queues, workload)
			dr.settled.Broadcast()
			dr.mu.Unlock()
			return
		}
		j := q[0]
		dr.mu.Unlock()

		log := e.Log.With().Str(logkey.Workload, workload).Str(logkey.Deploy, j.ID).Logger()
		if err := e.retire(dr.ctx, j, log); err != nil && dr.ctx.Err() == nil {
			log.Error().Err(err).Msg("drain failed; the journal stays for the next pass")
		}

		dr.mu.Lock()
		dr.queues[workload] = dr.queues[workload][1:]
		delete(dr.owned, j.ID)
		dr.settled.Broadcast()
		dr.mu.Unlock()
	}
}

// retire carries out one drain: see drainer.
func (e *Engine) retire(ctx context.Context, j Journal, log zerolog.Logger) error {
	if err := sleep(ctx, j.RetireAt.Sub(e.Now())); err != nil {
		return err
	}
	all, err := e.Containers(ctx, j.Workload)
	if err != nil {
		return fmt.Errorf("list containers of %s: %w", j.Workload, err)
	}
	routes, err := e.Store.Routes(ctx, j.Workload)
	if err != nil {
		return fmt.Errorf("read routes of %s: %w", j.Workload, err)
	}
	var gone []Instance
	for _, c := range Retired(all, routes, j.Container, max(j.Keep, 1)) {
		if c.Running {
			if err := e.Docker.Stop(ctx, c.ID, e.StopGrace); err != nil {
				log.Warn().Err(err).Str(logkey.Container, c.Name).Msg("stop replaced container")
			}
		}
		if err := e.Docker.Remove(ctx, c.ID); err != nil {
			if ctx.Err() != nil {
				return err
			}
			log.Error().Err(err).Str(logkey.Container, c.Name).Msg("remove replaced container")
			continue
		}
		gone = append(gone, Instance{ID: c.ID, Workload: j.Workload})
		log.Info().Str(logkey.Container, c.Name).Msg("replaced container removed")
	}
	return e.closeDrain(ctx, j, gone, log)
}

// Retired chooses what the drain of a deploy that created keepID removes:
// among the workload's containers created no later than keepID (a newer
// deploy's are none of its business), everything Surplus leaves beyond
// keep, except a container a route points at. When keepID is gone (torn
// down, or removed by hand) it removes nothing: what serves is then for
// the reconcile pass to decide.
func Retired(containers []Container, routes []Route, keepID string, keep int) []Container {
	kept, ok := containerByID(containers, keepID)
	if !ok {
		return nil
	}
	older := slices.DeleteFunc(slices.Clone(containers), func(c Container) bool { return c.Created.After(kept.Created) })
	routed := map[string]bool{}
	for _, r := range routes {
		routed[r.Container] = true
	}
	return slices.DeleteFunc(Surplus(older, keepID, keep), func(c Container) bool { return routed[c.ID] })
}

// closeDrain forgets the removed containers and closes the journal, with
// no lease (Coordinator.Forget): the lock may be held by the next deploy,
// in its watch, and the drain must not wait for it. A drain taken over
// after a crash before the deploy recorded its outcome records it now.
func (e *Engine) closeDrain(ctx context.Context, j Journal, gone []Instance, log zerolog.Logger) error {
	if err := e.Coord.Forget(ctx, j.Workload, Writes{DeleteInstances: gone, CloseJournal: j.ID}); err != nil {
		return fmt.Errorf("close drain of deploy %s: %w", j.ID, err)
	}
	if !j.Recorded {
		ev := Event{
			Time: e.Now().UTC(), Deploy: j.ID, Outcome: OutcomeDeployed, Image: j.Image, Tag: j.Tag, Digest: j.Digest,
			Source: j.Source, Started: j.Started, Epoch: j.Epoch, Owner: j.Owner, Container: j.Name,
			Previous: j.previousContainer(), Steps: append(slices.Clone(j.Steps), StepTime{Step: "recovered:drain", At: e.Now().UTC()}),
			Note: fmt.Sprintf("recovered by %s: the deploy stopped after step %q; its drain finished", e.Owner, j.Step),
		}
		ev.Took = ev.Time.Sub(j.Started)
		if err := e.Store.AppendEvent(ctx, j.Workload, ev); err != nil {
			log.Error().Err(err).Msg("record recovered deploy")
		}
	}
	log.Debug().Int("removed", len(gone)).Msg("drain finished")
	if e.OnDrained != nil {
		e.OnDrained(j.Workload, e.Now().Sub(drainStart(j)))
	}
	return nil
}

// drainStart is when a deploy's drain began: the time its journal reached
// StepWatched (the watch ended), else its last step.
func drainStart(j Journal) time.Time {
	for i := len(j.Steps) - 1; i >= 0; i-- {
		if j.Steps[i].Step == StepWatched {
			return j.Steps[i].At
		}
	}
	if len(j.Steps) > 0 {
		return j.Steps[len(j.Steps)-1].At
	}
	return j.Started
}

// waitDrains waits until no drain is queued or running here, or ctx ends.
func (e *Engine) waitDrains(ctx context.Context) error {
	dr := e.drains
	stop := context.AfterFunc(ctx, func() {
		dr.mu.Lock()
		dr.settled.Broadcast()
		dr.mu.Unlock()
	})
	defer stop()
	dr.mu.Lock()
	defer dr.mu.Unlock()
	for len(dr.queues) > 0 && ctx.Err() == nil {
		dr.settled.Wait()
	}
	return ctx.Err()
}

// Close ends the background drains and waits for them. A drain cut short
// keeps its journal, and the next start finishes it.
func (e *Engine) Close() {
	dr := e.drains
	dr.mu.Lock()
	dr.closed = true
	dr.mu.Unlock()
	dr.cancel()
	dr.wg.Wait()
}
