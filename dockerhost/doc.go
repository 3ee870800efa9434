// Package dockerhost is the one place that talks to the Docker Engine. It
// implements deployer.Docker (pull, networks, container lifecycle, listing
// by label) and a container event stream for the sidecar, and turns the
// Engine's types into the deployer's plain structs.
//
// It decides nothing: what to deploy, keep or remove is the deployer's
// business. It never touches containers other than by the id or labels it
// is given, and it creates containers unprivileged, without host
// networking and without added capabilities.
package dockerhost
