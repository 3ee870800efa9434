// Package swarmhost is the Docker Swarm engine as the deployer sees it:
// one deployed version of a workload is one replicated service
// (tf-<workload>-<tag>-<ts>) on an overlay network, instead of one
// container. It implements deployer.Docker (networks, service lifecycle,
// listing by label) plus what only a swarm has: placement, per-task
// addresses and per-task state, and maps the Engine's services and tasks
// into the deployer's plain structs.
//
// It decides nothing: what to deploy, keep or remove is the deployer's
// business. It touches services only by the id or labels it is given, and
// builds every container spec through the same policy as dockerhost
// (dockerhost.CheckHostConfig): no privileges, no host namespaces or host
// network, no added capabilities, no runtime socket or bind outside the
// allowed roots. It must not import sidecar or any proxy plugin.
package swarmhost
