// Package cloudflare keeps tinyforge's records in a Cloudflare zone
// through API v4 with an API token: the zone is found by name, a name's
// records are listed (all pages), and a dnsrec.Plan is applied record by
// record — ownership record first, deleted last — backing off on 429.
//
// It owns the HTTP dialogue only; the decisions are dnsrec's. It must not
// import dnsplug, the deployer or the sidecar.
package cloudflare
