// Package deployer owns the blue-green algorithm: one deploy of one
// workload (pull, run the release command, start beside the old,
// health-check as the labels ask, switch routes, watch),
// the background drain that retires the containers a deploy replaced, the
// per-workload queue that serialises operations (deliveries, converges,
// rollbacks, teardowns), decides which of them still run (queue_rules.go)
// and tells a deploy in its watch that a newer request waits, and the
// reconcile pass that keeps recorded state equal to Docker.
//
// It declares the small interfaces it consumes (Docker, Proxy, Store,
// HealthChecker) and never imports a concrete client or plugin: those live
// in dockerhost, proxyplug/* and redisstore and are wired by sidecar.
package deployer
