package deployer

import (
	"strings"

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
	routed := make(map[string]bool, len(routes))
	for _, r := range routes {
		routed[r.Container] = true
	}
	if c, ok := newest(cs, func(c Container) bool { return c.Running && routed[c.ID] }); ok {
		return c, true
	}
	return newest(cs, func(c Container) bool {
		return c.Running && c.Health != "unhealthy" && c.Health != "starting"
	})
}

// newest returns the newest container of cs that ok accepts.
func newest(cs []Container, ok func(Container) bool) (Container, bool) {
	var best Container
	found := false
	for _, c := range cs {
		if !ok(c) {
			continue
		}
		if !found || c.Created.After(best.Created) ||
			(c.Created.Equal(best.Created) && strings.Compare(c.Name, best.Name) > 0) {
			best, found = c, true
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
