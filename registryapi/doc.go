// Package registryapi is a small client of the OCI distribution API: it
// resolves a tag to the digest of its manifest, as the registry serves it
// to a pull, so that webhooks which carry no digest (Docker Hub, Gitea,
// Quay, the deploy API) can still be deduplicated and recorded by digest,
// and a poller can watch a tag for a new digest; and it lists a
// repository's tags, so a poller can find the newest allowed version.
// It only ever reads (HEAD, or GET when a registry omits the digest
// header, and GET of tag lists); it never pulls layers and owns no state
// besides its client.
package registryapi
