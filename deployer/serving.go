package deployer

import "github.com/tinyforge/tinyforge/labels"

// Serving returns the running containers that serve the workload: those
// its recorded routes point at when it has enabled faces, every running
// one when it has none. A container left running by a deploy that never
// switched routes (a sidecar killed mid-deploy) serves nothing, so it
// must not turn a new deploy of its image into a no-op. When the store
// lost the routes nothing serves, and a redeploy rebuilds them.
func Serving(cs []Container, routes []Route, faced bool) []Container {
	routed := make(map[string]bool, len(routes))
	for _, r := range routes {
		routed[r.Container] = true
	}
	var out []Container
	for _, c := range cs {
		if c.Running && (!faced || routed[c.ID]) {
			out = append(out, c)
		}
	}
	return out
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
