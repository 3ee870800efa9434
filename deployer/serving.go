package deployer

import (
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

// Serving is the one rule for which of a workload's containers serves it,
// decided from Docker's view of them (cs) and the workload's stored
// routes. The deploy's "already running" check, the reconcile pass that
// re-points lost routes, the labels converge and the rollback's "current
// digest" all ask it.
//
//   - A container that is not running never serves.
//   - When stored routes point at running containers, the newest of those
//     serves (normally there is exactly one). A newer unrouted container
//     belongs to a deploy in flight or to one a crash interrupted before
//     the switch: it serves nothing, and must not turn a new deploy of its
//     image into a no-op.
//   - Otherwise (a workload without faces, routes the store lost, or a
//     routed container that stopped or is gone) the newest running
//     container that Docker does not report unhealthy or starting serves:
//     it is the one routes should point at.
//
// Ties on creation time go to the later name: names carry timestamps.
func Serving(cs []Container, routes []Route) (Container, bool) {
	return serving(cs, routes, func(c Container) candidate {
		return candidate{c.ID, c.Name, c.Created, c.Running, c.Health}
	})
}

// ServingInstance is Serving over the store's records of the workload's
// instances (what GET /v1/workloads reports): an instance runs when its
// recorded state is running, and a record carries no health, so the
// fallback is the newest running instance. It is the same rule, so the
// status page and `tinyforge status` name the instance the deployer would.
func ServingInstance(ins []Instance, routes []Route) (Instance, bool) {
	return serving(ins, routes, func(in Instance) candidate {
		return candidate{in.ID, in.Name, in.Created, in.State == StateRunning, ""}
	})
}

// candidate is what the serving rule reads of a container or an instance.
type candidate struct {
	id, name string
	created  time.Time
	running  bool
	health   string
}

// serving is the rule of Serving over anything of which a candidate can
// be read.
func serving[T any](items []T, routes []Route, read func(T) candidate) (T, bool) {
	routed := make(map[string]bool, len(routes))
	for _, r := range routes {
		routed[r.Container] = true
	}
	if it, ok := newest(items, read, func(c candidate) bool { return c.running && routed[c.id] }); ok {
		return it, true
	}
	return newest(items, read, func(c candidate) bool {
		return c.running && c.health != "unhealthy" && c.health != "starting"
	})
}

// newest returns the newest item of items that ok accepts.
func newest[T any](items []T, read func(T) candidate, ok func(candidate) bool) (T, bool) {
	var best T
	var bc candidate
	found := false
	for _, it := range items {
		c := read(it)
		if !ok(c) {
			continue
		}
		if !found || c.created.After(bc.created) ||
			(c.created.Equal(bc.created) && strings.Compare(c.name, bc.name) > 0) {
			best, bc, found = it, c, true
		}
	}
	return best, found
}

// HasFaces reports whether the workload has an enabled face, that is,
// whether it is served through routes.
func HasFaces(w *labels.Workload) bool {
	for _, f := range w.Faces {
		if f.Enabled() {
			return true
		}
	}
	return false
}
