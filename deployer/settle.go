package deployer

import (
	"context"
	"errors"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// settle ends a deploy, whatever step it stopped at, by one rule:
//
//   - A deploy that failed while routes point at its container (in the
//     store, or maybe only in the proxy) is left to recovery: its journal
//     stays open, and the next lease holder finishes or undoes it (see
//     Recover).
//   - Any other failed deploy removes the container it created, never one
//     the store routes to. A converge created none, and removes nothing.
//     It gives back the host claims it made for hosts the workload's
//     routes do not serve (see releaseFailedClaims).
//   - Then the journal is closed, unless the lease was superseded (the
//     newer lease holder owns it now, and this deploy's writes would be
//     refused) or the deploy succeeded: its journal then holds the drain
//     of the containers it replaced, until the drain closes it.
//
// It runs even when ctx was cancelled.
func (d *deploy) settle(ctx context.Context, err error) {
	if err != nil && d.created {
		d.noteTasks(ctx) // for the record, before the new service may go
	}
	if err != nil && (d.routed || d.proxyDirty) {
		d.log.Warn().Err(err).Bool("recorded", d.routed).Msg("deploy stopped while routes point at its container; left to recovery")
		return
	}
	fenced := errors.Is(err, ErrFenced) || errors.Is(context.Cause(ctx), ErrLockLost)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	w := Writes{CloseJournal: d.id}
	if err != nil && d.created {
		if !d.removeNew(ctx) {
			return
		}
		if d.inst.ID != "" {
			w.DeleteInstances = []Instance{d.inst}
		}
	}
	if err != nil && !fenced { // after removeNew: no container of the deploy is left to reclaim from
		d.releaseFailedClaims(ctx)
	}
	if fenced || d.j.Step == "" || (err == nil && d.j.Step == StepWatched) {
		return // a successful deploy's journal stays open for its drain
	}
	if err := d.Coord.Commit(ctx, d.lease, w); err != nil {
		d.log.Error().Err(err).Msg("close journal (recovery will)")
	}
}

// removeNew removes the deploy's new container: found by id, and by its
// deploy label in case the failure came between create and journal. A
// container the store routes to stays: a recovery by a newer lease holder
// may have finished this deploy's switch meanwhile. It reports false when
// the routes cannot be read, leaving everything to recovery.
func (d *deploy) removeNew(ctx context.Context) bool {
	ids := map[string]string{}
	if d.inst.ID != "" {
		ids[d.inst.ID] = d.inst.Name
	}
	byDeploy := d.managed(d.w.Name)
	byDeploy[labels.ManagedDeploy] = d.id
	if cs, err := d.Docker.List(ctx, byDeploy); err == nil {
		for _, c := range cs {
			ids[c.ID] = c.Name
		}
	} else {
		d.log.Warn().Err(err).Msg("list containers of the failed deploy")
	}
	rs, err := d.Store.Routes(ctx, d.w.Name)
	if err != nil {
		d.log.Error().Err(err).Msg("read routes before removing the new container: leaving it for recovery")
		return false
	}
	for _, r := range rs {
		delete(ids, r.Container)
	}
	for id, name := range ids {
		if err := d.Docker.Remove(ctx, id); err != nil {
			d.log.Error().Err(err).Str(logkey.Container, name).Msg("remove new container")
		}
	}
	return true
}

// record writes the outcome to the workload's history: success,
// "rolled back: <reason>" when the watch failed and the routes went back,
// or "failed: <reason>" when err is set otherwise.
func (d *deploy) record(ctx context.Context, success string, res Result, err error) {
	ev := Event{
		Time:      d.Now().UTC(),
		Deploy:    d.id,
		Outcome:   success,
		Image:     d.ref,
		Digest:    res.Digest,
		Source:    d.req.Source,
		Took:      d.Now().Sub(d.start),
		Tag:       d.tag,
		Started:   d.start.UTC(),
		Epoch:     d.lease.Epoch,
		Owner:     d.Owner,
		Container: d.inst.Name,
		Previous:  d.j.previousContainer(),
		Steps:     d.j.Steps,

		Switched: d.switched,
		Received: d.req.Received,
		Watch:    d.watched,
		Release:  d.releaseRun,
		Tasks:    d.tasks,
	}
	logEv := d.log.Info()
	switch {
	case err != nil && d.rolledBack:
		ev.Outcome = OutcomeRolledBack + err.Error()
		logEv = d.log.Warn().Err(err)
	case err != nil:
		ev.Outcome = OutcomeFailed + err.Error()
		logEv = d.log.Error().Err(err)
	}
	if ev.Switched > 0 {
		logEv = logEv.Dur(logkey.Switched, ev.Switched)
	}
	logEv.Str(logkey.Outcome, ev.Outcome).Dur(logkey.Took, ev.Took).Msg("deploy finished")
	if err := d.Store.AppendEvent(context.WithoutCancel(ctx), d.w.Name, ev); err != nil {
		d.log.Error().Err(err).Msg("record deploy event")
	}
	d.finished(d.w.Name, ev)
}
