package controllers

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
)

// Orphans tracks workloads that still have containers but that no
// controller declares any more. They are reported, never torn down
// silently: only with --teardown-orphans, after --orphan-grace, or through
// DELETE /v1/workloads/{name}. The zero value is ready to use.
type Orphans struct {
	mu    sync.Mutex
	since map[string]time.Time
}

// OrphanStatus is what the API shows of one orphaned workload.
type OrphanStatus struct {
	Since      time.Time `json:"since"`
	Containers int       `json:"containers"`
}

// Update records the orphans of one reconcile snapshot and returns them,
// with those orphaned for at least grace. declares tells whether a
// controller declares a workload (Watcher.Declares: a workload in
// conflict between controllers counts as declared).
func (o *Orphans) Update(snapshot []deployer.Container, declares func(name string) bool, now time.Time, grace time.Duration) (status map[string]OrphanStatus, expired []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since == nil {
		o.since = map[string]time.Time{}
	}
	status = map[string]OrphanStatus{}
	for _, c := range snapshot {
		name := c.Labels[labels.ManagedWorkload]
		if name == "" || declares(name) {
			continue
		}
		st := status[name]
		st.Containers++
		status[name] = st
	}
	for name := range o.since {
		if _, still := status[name]; !still {
			delete(o.since, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(status)) {
		since, known := o.since[name]
		if !known {
			since = now
			o.since[name] = now
		}
		status[name] = OrphanStatus{Since: since, Containers: status[name].Containers}
		if now.Sub(since) >= grace {
			expired = append(expired, name)
		}
	}
	return status, expired
}
