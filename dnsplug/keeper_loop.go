package dnsplug

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
	"github.com/tinyforge/tinyforge/internal/logkey"
)

// Run does the background work until ctx ends: every Tick, up to Burst
// names whose time has come (a retry after a failure, a removal, a
// re-read every Recheck) get one attempt each, oldest first. A re-read
// that finds drift repairs it (Ensure writes only what differs).
func (k *Keeper) Run(ctx context.Context) {
	t := time.NewTicker(k.o.Tick)
	defer t.Stop()
	for {
		for _, n := range k.dueNames() {
			k.attempt(ctx, n, false)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-k.wake:
		}
	}
}

// poke wakes Run for names due now; k.mu is held.
func (k *Keeper) poke() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// dueNames picks at most Burst names due now, the longest waiting first.
func (k *Keeper) dueNames() []Name {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	var due []Name
	for n, e := range k.names {
		if !e.due.After(now) {
			due = append(due, n)
		}
	}
	slices.SortFunc(due, func(a, b Name) int { return k.names[a].due.Compare(k.names[b].due) })
	return due[:min(len(due), k.o.Burst)]
}

// settle records the outcome of one attempt on n, schedules the next one,
// logs what changed, and returns the note a deploy shows ("" when the
// record is in place or was removed).
func (k *Keeper) settle(n Name, e *entry, removed bool, st Status, err error) string {
	now := k.now()
	k.mu.Lock()
	prev := e.status
	e.status, e.retry = st, false
	switch {
	case removed && (err == nil || permanent(err)):
		// Gone, or never ours (a conflict): nothing left to keep.
		if k.names[n] == e && e.remove {
			delete(k.names, n)
			k.gone[n] = now
		}
	case err == nil || permanent(err):
		e.backoff, e.due = 0, now.Add(k.o.Recheck)
	default:
		e.backoff = min(max(2*e.backoff, k.o.MinBackoff), k.o.MaxBackoff)
		e.due, e.retry = now.Add(e.backoff), true
	}
	backoff := e.backoff
	k.mu.Unlock()

	log := k.o.Log.With().Str(logkey.Workload, n.Workload).Str(logkey.FQDN, n.FQDN).Str(logkey.DNSState, string(st.State)).Logger()
	switch {
	case err != nil && !permanent(err):
		// The error carries the FQDN and the server's answer; the provider
		// never puts a secret in it.
		log.Warn().Err(err).Dur(logkey.RetryIn, backoff).Msg("dns record not in place: retrying")
		return n.FQDN + ": record not in place, retried in the background: " + err.Error()
	case errors.Is(err, dnsrec.ErrConflict) && removed:
		log.Info().Err(err).Msg("dns name holds records tinyforge does not own: nothing removed")
	case err != nil:
		if prev.Error != st.Error {
			log.Warn().Err(err).Strs("records", st.Records).Msg("dns record not created: left untouched")
		}
		return n.FQDN + ": record not created: " + err.Error()
	case removed && st.Changed:
		log.Info().Msg("dns record removed")
	case st.Changed && prev.State == dnsrec.StateOK:
		log.Warn().Strs("records", st.Records).Msg("dns record drifted: repaired")
	case st.Changed:
		log.Info().Strs("records", st.Records).Msg("dns record written and confirmed")
	case prev.State != st.State:
		log.Info().Msg("dns record in place")
	}
	return ""
}
