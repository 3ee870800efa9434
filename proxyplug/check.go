package proxyplug

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge/deployer"
)

// CheckRoute rejects a route a proxy would load and only fail on at
// request time: a host containing any of badHost (each proxy has its own
// syntax to protect), or an upstream that is not host:port with a port of
// 1-65535 and a host free of badUpstream.
func CheckRoute(r deployer.Route, badHost, badUpstream string) error {
	if r.Host == "" || strings.ContainsAny(r.Host, badHost) {
		return fmt.Errorf("invalid host %q", r.Host)
	}
	host, port, err := net.SplitHostPort(r.Upstream)
	if err != nil {
		return fmt.Errorf("invalid upstream %q: %w", r.Upstream, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid upstream %q: port must be 1-65535", r.Upstream)
	}
	if host == "" || strings.ContainsAny(host, badUpstream) {
		return fmt.Errorf("invalid upstream %q: want host:port", r.Upstream)
	}
	return nil
}
