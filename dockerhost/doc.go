// Package dockerhost is the one place that talks to the Docker Engine. It
// implements deployer.Docker (pull, networks, container lifecycle, one-off
// containers run to completion with their exit code and output, listing
// by label), a container event stream and the one loop that keeps a view
// of containers current from it (Watch: subscribe, re-list, ping, reconnect
// with backoff), and turns the Engine's types into the deployer's plain
// structs.
//
// It decides nothing: what to deploy, keep or remove is the deployer's
// business. It never touches containers other than by the id or labels it
// is given, and it creates containers unprivileged, without host
// networking and without added capabilities.
package dockerhost
