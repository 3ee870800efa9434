package deployer

import "context"

// Optional abilities of a Proxy. The deployer detects them with type
// assertions instead of widening Proxy, because not every proxy can offer
// them: None has nothing to verify, and a proxy that reads Docker
// labels (traefik-labels) routes through labels given at creation rather
// than through Upsert. Keeping Proxy at two methods also keeps every
// existing plugin and test fake valid. Each plugin declares what it
// implements with compile-time guards beside its type.

// Verifier is a Proxy that can confirm, through the proxy itself where the
// sidecar can reach it, that r now sends r.Host to r.Upstream. Verify polls
// until it does and returns the last failure when ctx ends; the deployer
// bounds ctx with Config.VerifyTimeout. Only after every route verified
// does the deployer drain and remove the old container.
type Verifier interface {
	Verify(ctx context.Context, r Route) error
}

// ContainerLabeler is a Proxy configured by the labels of the containers it
// routes to (Traefik's Docker provider). ContainerLabels returns the labels
// a new container needs so that the proxy sends routes to it; they must
// depend only on the routes' identity and settings, never on the container,
// so blue and green carry identical ones and the proxy merges them.
type ContainerLabeler interface {
	ContainerLabels(routes []Route) map[string]string
}
