// Package poller watches registries that send no webhook: for each
// declared workload with a poll label it asks the registry, every poll
// interval (with jitter, so workloads spread out), for the digest of the
// tag to deploy (a manifest HEAD, which costs no pull quota; for a semver
// policy the newest allowed tag of the registry's tags list first) and
// submits a delivery of source poll through the durable inbox when that
// digest is neither what serves nor what it submitted last. Registry
// errors back off and are reported (log and Status), never deploy
// anything; --allowed-images is checked before any request.
//
// It owns one goroutine per polled workload, started and stopped as
// labels change, all ended when Run's context ends. It decides nothing
// about deploys (the inbox's consumer and the deployer do) and must not
// import sidecar, intake, controllers, deployer or an adapter: the
// composition root hands it functions.
package poller
