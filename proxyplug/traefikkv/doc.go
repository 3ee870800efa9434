// Package traefikkv is the deployer.Proxy for a Traefik that reads its
// dynamic configuration from Redis (the Redis KV provider). For each route
// it owns one router and one service, both named after the route (workload
// and face, stable across deploys), under Traefik's root key:
//
//	<root>/http/routers/<name>/rule                            Host(`fqdn`)
//	<root>/http/routers/<name>/service                         <name>
//	<root>/http/routers/<name>/entrypoints/<i>                 web
//	<root>/http/routers/<name>/tls                             true (TLS only)
//	<root>/http/routers/<name>/tls/certresolver                <resolver> (when set)
//	<root>/http/services/<name>/loadbalancer/servers/0/url     http://<upstream>
//
// Traefik rebuilds its config with a non-atomic SCAN+MGET when a key
// changes, so every change of one route (its stale keys deleted, its new
// keys set, its ownership record updated) is one MULTI/EXEC: Traefik reads
// the route before or after, never half of it. Keys are deleted
// explicitly, never left to expire.
//
// The plugin records what it owns in one hash under the sidecar's own
// prefix (never under the root, which Traefik scans): router name -> the
// route as JSON. It touches no key outside the routers and services named
// there, re-asserts all of them at start and whenever Redis comes back
// changed (restarted, flushed, or the record missing), and turns on the
// keyspace notifications Traefik watches when Redis allows it.
package traefikkv
