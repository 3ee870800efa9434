package sidecar

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// EdgeConfig is how the stack meets the outside: Caddy's TLS, the route
// of the sidecar's own webhooks, the networks workloads may join, and the
// Redis password.
type EdgeConfig struct {
	// CaddyTLS is the issuer of the certificates of TLS faces: "acme"
	// (Caddy's automatic HTTPS) or "internal" (Caddy's own CA).
	CaddyTLS string
	// CaddyTLSListen is the listen address(es) of Caddy's HTTPS server.
	CaddyTLSListen string
	// CaddyHTTPSPort is the port clients reach Caddy's HTTPS server at,
	// which the redirect from plain HTTP names.
	CaddyHTTPSPort int
	// HooksHost, when set, gets an HTTPS route in the proxy sending
	// /v1/hooks/* (and nothing else) to HooksUpstream.
	HooksHost     string
	HooksUpstream string
	// AllowedNetworks are the networks a controller's settings.network may
	// name; the default is --network alone.
	AllowedNetworks []string
	// RedisPassword, when set, replaces the password of --redis-url.
	RedisPassword string
}

// Caddy TLS issuers (--caddy-tls).
const (
	caddyTLSACME     = "acme"
	caddyTLSInternal = "internal"
)

func (c *EdgeConfig) flags(e *envFlags, cfg *Config) {
	e.str(&c.CaddyTLS, "caddy-tls", caddyTLSACME, "certificates of faces with tls=true: acme (automatic HTTPS) or internal (Caddy's own CA, for offline use and tests)")
	e.str(&c.CaddyTLSListen, "caddy-tls-listen", ":443", "listen address(es), comma-separated, of the HTTPS server the sidecar keeps in Caddy")
	e.integer(&c.CaddyHTTPSPort, "caddy-https-port", 443, "port clients reach Caddy's HTTPS server at, as published (the HTTP to HTTPS redirect names it when not 443)")
	e.str(&c.HooksHost, "hooks-host", "", "public host whose /v1/hooks/* the proxy routes to this sidecar over HTTPS (caddy only); nothing else of the API is routed")
	e.str(&c.HooksUpstream, "hooks-upstream", "", "this sidecar's listener as the proxy dials it (default: --listen, when it names a host)")
	var allowed string
	e.str(&allowed, "allowed-networks", "", "Docker networks a controller's settings.network may name, comma-separated (default: --network only)")
	e.secret(&c.RedisPassword, "redis-password", "", "password of Redis, replacing the one in --redis-url (use the -file twin)")
	e.after = append(e.after, func() error {
		c.AllowedNetworks = splitList(allowed)
		return c.resolve(cfg)
	})
}

// resolve checks the edge settings against the rest of cfg and fills the
// defaults that depend on it.
func (c *EdgeConfig) resolve(cfg *Config) error {
	switch c.CaddyTLS {
	case caddyTLSACME, caddyTLSInternal:
	default:
		return fmt.Errorf("--caddy-tls %q: want acme or internal", c.CaddyTLS)
	}
	if c.CaddyHTTPSPort < 1 || c.CaddyHTTPSPort > 65535 {
		return fmt.Errorf("--caddy-https-port %d: want a port, 1 to 65535", c.CaddyHTTPSPort)
	}
	if len(c.AllowedNetworks) == 0 {
		c.AllowedNetworks = []string{cfg.Network}
	} else if cfg.Network != "" && !slices.Contains(c.AllowedNetworks, cfg.Network) {
		return fmt.Errorf("--network %q is not among --allowed-networks %s", cfg.Network, strings.Join(c.AllowedNetworks, ","))
	}
	if c.HooksHost != "" {
		if cfg.Proxy != "caddy" {
			return fmt.Errorf("--hooks-host needs --proxy caddy, got %q", cfg.Proxy)
		}
		if strings.ContainsAny(c.HooksHost, " /:") {
			return fmt.Errorf("--hooks-host %q: want a host name", c.HooksHost)
		}
		if c.HooksUpstream == "" {
			host, _, err := net.SplitHostPort(cfg.Listen)
			if err != nil || host == "" || net.ParseIP(host).IsUnspecified() {
				return fmt.Errorf("--hooks-host needs --hooks-upstream: --listen %q names no host the proxy could dial", cfg.Listen)
			}
			c.HooksUpstream = cfg.Listen
		}
	}
	if c.RedisPassword != "" {
		u, err := redisstore.WithPassword(cfg.RedisURL, c.RedisPassword)
		if err != nil {
			return err
		}
		cfg.RedisURL = u
	}
	return nil
}

// admit refuses a workload whose controller puts it on a network outside
// --allowed-networks: such a network may be one where Redis, the socket
// proxy or the proxy's admin API listen.
func (c *EdgeConfig) admit(w *labels.Workload) error {
	n := w.Settings.Network
	if n == "" || slices.Contains(c.AllowedNetworks, n) {
		return nil
	}
	return fmt.Errorf("tinyforge.settings.network: %q is not among the sidecar's --allowed-networks (%s): workload %s left out",
		n, strings.Join(c.AllowedNetworks, ","), w.Name)
}
