// Package webhook parses and authenticates registry webhook deliveries.
// It is pure: raw headers and bodies in, Push values out. It owns no HTTP
// server, queue or Docker client; the sidecar verifies a delivery with it,
// then parses, deduplicates and queues the pushes.
package webhook

import "time"

// Push is one tagged manifest push reported by a registry: the only kind of
// event that can trigger a deploy.
type Push struct {
	// Registry is the registry host as the pushing client addressed it
	// (request.host), e.g. 127.0.0.1:5000; empty when the payload has none.
	Registry string
	// Repository is the repository path inside the registry, e.g. team/web.
	Repository string
	// Tag is the pushed tag.
	Tag string
	// Digest is the manifest digest, empty when the payload has none.
	Digest string
	// MediaType is the manifest media type (manifest, list or index).
	MediaType string
	// EventID identifies the event for deduplication: registries deliver
	// at least once. Empty when the payload carries none; the sidecar then
	// falls back to the delivery id of the request headers.
	EventID string
	// SignedKey is a hash of exactly the bytes the delivery's signature
	// covers (GitHub, Gitea and Forgejo sign their bodies), "" for sources
	// that sign nothing. A captured delivery replayed under a new delivery
	// id keeps it, so the sidecar deduplicates on it as well.
	SignedKey string
	// Time is when the registry says the push happened, zero when the
	// payload does not say. It orders pushes that arrive out of order.
	Time time.Time
}

// Image is the repository reference a workload's image label is compared
// with: Registry/Repository, or Repository alone when Registry is empty.
func (p Push) Image() string {
	if p.Registry == "" {
		return p.Repository
	}
	return p.Registry + "/" + p.Repository
}
