package dnsplug

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// Name is one public name a workload serves.
type Name struct {
	Workload string
	FQDN     string // canonical: lower case, no trailing dot
}

// RecordStatus is where one name's records stand, as GET /v1/workloads
// shows it: the last Status, and when the next attempt is due.
type RecordStatus struct {
	Status
	Retry time.Time `json:"retry,omitzero"` // next attempt after a failure
}

// KeeperOptions configure a Keeper; zero values take the defaults.
type KeeperOptions struct {
	Provider Provider
	Config   Config // the addresses records point to, and the zone
	Instance string // the owner written in every ownership record
	Log      zerolog.Logger

	// Timeout bounds the records of one deploy or teardown (20s): past it
	// the deploy goes on and the keeper keeps trying in the background.
	Timeout time.Duration
	// Recheck is how often a record in place is read again, so a deleted
	// or changed record is repaired (1m).
	Recheck time.Duration
	// Tick and Burst bound the background work: at most Burst provider
	// calls per Tick (4 per second).
	Tick  time.Duration
	Burst int
	// MinBackoff and MaxBackoff bound the wait before a failed attempt is
	// retried; it doubles from one to the other (2s, 5m).
	MinBackoff, MaxBackoff time.Duration
}

// Keeper keeps the records of the names routes serve: ensured and
// confirmed before a route first goes live (Ensure), removed when the
// route goes away (Drop, Teardown), retried with backoff after a failure
// and re-read at a bounded rate so drift is repaired (Run). It never fails
// a deploy: a record it cannot make is a note, a log line and a status.
type Keeper struct {
	o     KeeperOptions
	zone  string
	now   func() time.Time
	wake  chan struct{}
	mu    sync.Mutex
	names map[Name]*entry
	gone  map[Name]time.Time // when a name was released; Learn must not bring it back
}

// entry is the keeper's state of one name.
type entry struct {
	op      sync.Mutex // one provider call at a time per name
	remove  bool       // the name is to be removed, not kept
	status  Status
	due     time.Time // next background attempt
	retry   bool      // due is a retry after a failure
	backoff time.Duration
}

// NewKeeper returns a keeper; Run does its background work.
func NewKeeper(o KeeperOptions) *Keeper {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 20*time.Second)
	def(&o.Recheck, time.Minute)
	def(&o.Tick, time.Second)
	def(&o.MinBackoff, 2*time.Second)
	def(&o.MaxBackoff, 5*time.Minute)
	if o.Burst <= 0 {
		o.Burst = 4
	}
	return &Keeper{o: o, zone: dnsrec.Canonical(o.Config.Zone), now: time.Now, wake: make(chan struct{}, 1),
		names: map[Name]*entry{}, gone: map[Name]time.Time{}}
}

// Ensure makes the records of workload's hosts exist and confirms them,
// before their routes go live, within Options.Timeout. It returns "" when
// every record is in place, else a note naming each name that is not and
// why; those are retried in the background.
func (k *Keeper) Ensure(ctx context.Context, workload string, hosts []string) string {
	ctx, cancel := context.WithTimeout(ctx, k.o.Timeout)
	defer cancel()
	names := k.track(workload, hosts, false)
	notes := make([]string, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() { notes[i] = k.attempt(ctx, n, true) })
	}
	wg.Wait()
	return strings.Join(slices.DeleteFunc(notes, func(s string) bool { return s == "" }), "; ")
}

// Drop removes the records of hosts workload no longer serves (a face
// removed or opted out), within Options.Timeout; what fails is retried in
// the background. Only names the keeper holds are touched: a host it never
// kept (a face opted out from the start) is left to its owner.
func (k *Keeper) Drop(ctx context.Context, workload string, hosts []string) {
	k.mu.Lock()
	hosts = slices.DeleteFunc(slices.Clone(hosts), func(h string) bool {
		return k.names[Name{Workload: workload, FQDN: dnsrec.Canonical(h)}] == nil
	})
	k.mu.Unlock()
	k.release(ctx, k.track(workload, hosts, true))
}

// Teardown removes the records of hosts and every other record held for
// workload: the workload is gone.
func (k *Keeper) Teardown(ctx context.Context, workload string, hosts []string) {
	names := k.track(workload, hosts, true)
	k.mu.Lock()
	for n, e := range k.names {
		if n.Workload == workload && !slices.Contains(names, n) {
			e.remove, names = true, append(names, n)
		}
	}
	k.mu.Unlock()
	k.release(ctx, names)
}

func (k *Keeper) release(ctx context.Context, names []Name) {
	ctx, cancel := context.WithTimeout(ctx, k.o.Timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() { k.attempt(ctx, n, true) })
	}
	wg.Wait()
}

// Learn adds the names routes serve, read from the store at since, so the
// records of live routes are kept after a restart. A name released after
// since is not brought back; names already held are left as they are.
func (k *Keeper) Learn(want []Name, since time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	added := false
	for _, n := range want {
		n.FQDN = dnsrec.Canonical(n.FQDN)
		if _, held := k.names[n]; held || k.gone[n].After(since) {
			continue
		}
		k.names[n] = &entry{status: Status{FQDN: n.FQDN, State: dnsrec.StatePending}}
		added = true
	}
	for n, at := range k.gone { // tombstones outlive any read in flight
		if at.Before(since.Add(-time.Hour)) {
			delete(k.gone, n)
		}
	}
	if added {
		k.poke()
	}
}

// Unwant schedules the removal of held names no route needs any more (a
// face opted out with dns=false); Run removes them.
func (k *Keeper) Unwant(names []Name) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range names {
		if e := k.names[n]; e != nil && !e.remove {
			e.remove, e.due, e.retry, e.backoff = true, time.Time{}, false, 0
		}
	}
	k.poke()
}

// Held is every name the keeper keeps (not those being removed).
func (k *Keeper) Held() []Name {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []Name
	for n, e := range k.names {
		if !e.remove {
			out = append(out, n)
		}
	}
	return out
}

// Statuses is the state of every name held or being removed, by
// workload, each list in name order.
func (k *Keeper) Statuses() map[string][]RecordStatus {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string][]RecordStatus{}
	for _, n := range slices.SortedFunc(maps.Keys(k.names), func(a, b Name) int { return strings.Compare(a.FQDN, b.FQDN) }) {
		e := k.names[n]
		rs := RecordStatus{Status: e.status}
		if e.retry {
			rs.Retry = e.due
		}
		out[n.Workload] = append(out[n.Workload], rs)
	}
	return out
}

// track returns the names of hosts, creating their entries, marked for
// removal or not.
func (k *Keeper) track(workload string, hosts []string, remove bool) []Name {
	k.mu.Lock()
	defer k.mu.Unlock()
	var names []Name
	for _, h := range hosts {
		n := Name{Workload: workload, FQDN: dnsrec.Canonical(h)}
		if slices.Contains(names, n) {
			continue
		}
		names = append(names, n)
		e := k.names[n]
		if e == nil {
			e = &entry{status: Status{FQDN: n.FQDN, State: dnsrec.StatePending}}
			k.names[n] = e
		}
		e.remove = remove
		if !remove {
			delete(k.gone, n)
		}
	}
	return names
}

// attempt does what n's entry asks (keep or remove) once. wait says
// whether to wait for a call in progress on the same name, or skip it (the
// background loop). It returns a note when the record is not in place.
func (k *Keeper) attempt(ctx context.Context, n Name, wait bool) string {
	k.mu.Lock()
	e := k.names[n]
	k.mu.Unlock()
	if e == nil {
		return ""
	}
	if wait {
		e.op.Lock()
	} else if !e.op.TryLock() {
		return ""
	}
	defer e.op.Unlock()
	k.mu.Lock()
	remove := e.remove
	k.mu.Unlock()
	st, err := k.call(ctx, n, remove)
	return k.settle(n, e, remove, st, err)
}

// call asks the provider, or answers without it for a name outside the
// zone.
func (k *Keeper) call(ctx context.Context, n Name, remove bool) (Status, error) {
	if k.zone != "" && !dnsrec.InZone(n.FQDN, k.zone) {
		st := Status{FQDN: n.FQDN, State: dnsrec.StateOutside, Checked: k.now().UTC(),
			Error: fmt.Sprintf("%s is not in zone %s (--dns-zone): no record managed", n.FQDN, k.zone)}
		return st, nil
	}
	if remove {
		return k.o.Provider.Remove(ctx, n.FQDN, Owner{Instance: k.o.Instance, Workload: n.Workload})
	}
	r, err := k.o.Config.Record(n.FQDN, Owner{Instance: k.o.Instance, Workload: n.Workload})
	if err != nil {
		return Status{FQDN: n.FQDN, State: dnsrec.StateFailed, Error: err.Error(), Checked: k.now().UTC()}, err
	}
	return k.o.Provider.Ensure(ctx, r)
}

// permanent errors are not retried with backoff: only re-read at the
// Recheck pace, in case the operator resolved them.
func permanent(err error) bool {
	return errors.Is(err, dnsrec.ErrConflict) || errors.Is(err, dnsrec.ErrInvalid)
}
