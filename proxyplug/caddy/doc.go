// Package caddy is the deployer.Proxy for a Caddy 2 that the sidecar shares
// with other sites. Through Caddy's admin API it owns exactly one HTTP
// server, apps/http/servers/<Options.Server>, and the routes inside it, each
// addressable by its "@id". It creates that server (and the apps/http/servers
// objects above it) when absent, switches a route with one atomic PATCH, and
// never touches other servers, other apps or the admin block: it never
// POSTs /load, which would replace all of them.
package caddy
