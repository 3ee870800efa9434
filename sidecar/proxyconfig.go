package sidecar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ProxyConfig holds the settings of the proxy plugins beyond --proxy and
// the caddy-* flags.
type ProxyConfig struct {
	VerifyTimeout time.Duration
	CaddyProbe    string

	TraefikRedisURL    string
	TraefikRoot        string
	TraefikEntryPoints string
	TraefikResolver    string
	TraefikAPI         string
	TraefikRetry       int
	TraefikSettle      time.Duration

	NPMURL        string
	NPMIdentity   string
	NPMSecret     string
	NPMCertID     int
	NPMAccessList int
	// NPMAllowedACLs lists, comma-separated, the access lists a face's
	// accessList may name besides --npm-access-list-id.
	NPMAllowedACLs string
	NPMRemote      bool
	ServerIP       string
	PublishIP      string
}

func (p *ProxyConfig) flags(e *envFlags) {
	e.duration(&p.VerifyTimeout, "verify-timeout", 30*time.Second, "how long the proxy may take to confirm a switch before it is undone")
	e.str(&p.CaddyProbe, "caddy-probe", "", "Caddy's HTTP server as the sidecar reaches it (e.g. http://127.0.0.1:80): switches are also verified by a request through it")

	e.str(&p.TraefikRedisURL, "traefik-redis-url", "", "Redis Traefik reads (traefik-kv; default: the sidecar's --redis-url)")
	e.str(&p.TraefikRoot, "traefik-root", "traefik", "Traefik's rootKey in Redis (traefik-kv)")
	e.str(&p.TraefikEntryPoints, "traefik-entrypoints", "web", "entry points of every router, comma-separated (traefik-kv, traefik-labels)")
	e.str(&p.TraefikResolver, "traefik-certresolver", "", "certificate resolver; turns TLS on for every router (traefik-kv, traefik-labels)")
	e.str(&p.TraefikAPI, "traefik-api", "", "Traefik's API (e.g. http://traefik:8080): switches are verified against what Traefik runs")
	e.integer(&p.TraefikRetry, "traefik-retry", 0, "retry attempts of a retry middleware on every router, 0 = none (traefik-labels)")
	e.duration(&p.TraefikSettle, "traefik-settle", 3*time.Second, "wait for Traefik to pick a new container up when --traefik-api is unset (traefik-labels)")

	e.str(&p.NPMURL, "npm-url", "http://127.0.0.1:81", "Nginx Proxy Manager's admin URL (npm)")
	e.str(&p.NPMIdentity, "npm-identity", "", "NPM login e-mail (npm)")
	e.str(&p.NPMSecret, "npm-secret", "", "NPM password (npm; prefer the environment twin)")
	e.integer(&p.NPMCertID, "npm-certificate-id", 0, "NPM certificate id of every host, 0 = plain HTTP (npm)")
	e.integer(&p.NPMAccessList, "npm-access-list-id", 0, "NPM access list id of hosts whose face names none, 0 = public (npm)")
	e.str(&p.NPMAllowedACLs, "npm-allowed-access-lists", "", "access list ids a face's accessList may name besides --npm-access-list-id, comma-separated; 0 lets a face be public. Empty: any non-zero id when the default is public, none otherwise (npm)")
	e.boolean(&p.NPMRemote, "npm-remote", false, "NPM runs on another host: publish face ports and forward to --server-ip (npm)")
	e.str(&p.ServerIP, "server-ip", "", "this Docker host's IP as a remote proxy reaches it")
	e.str(&p.PublishIP, "publish-ip", "", "host address published ports bind to (default: --server-ip)")
}

func (c Config) validateProxy() error {
	p := c.Proxies
	switch c.Proxy {
	case "caddy", "none", "traefik-labels":
	case "traefik-kv":
		if strings.HasPrefix(c.RedisPrefix, p.TraefikRoot) {
			return fmt.Errorf("--redis-prefix %q lies inside --traefik-root %q: Traefik would read the sidecar's keys", c.RedisPrefix, p.TraefikRoot)
		}
	case "npm":
		if p.NPMIdentity == "" || p.NPMSecret == "" {
			return fmt.Errorf("--proxy npm needs --npm-identity and --npm-secret")
		}
		if _, err := p.allowedACLs(); err != nil {
			return err
		}
		if p.NPMRemote && p.ServerIP == "" {
			return fmt.Errorf("--npm-remote needs --server-ip, the address NPM reaches this host on")
		}
	default:
		return fmt.Errorf("--proxy %q: want caddy, traefik-kv, traefik-labels, npm or none", c.Proxy)
	}
	if p.VerifyTimeout <= 0 {
		return fmt.Errorf("--verify-timeout must be positive, got %s", p.VerifyTimeout)
	}
	if p.TraefikRetry < 0 || p.NPMCertID < 0 || p.NPMAccessList < 0 {
		return fmt.Errorf("--traefik-retry, --npm-certificate-id and --npm-access-list-id must not be negative")
	}
	return nil
}

// allowedACLs parses --npm-allowed-access-lists.
func (p ProxyConfig) allowedACLs() ([]int, error) {
	var out []int
	for _, s := range strings.Split(p.NPMAllowedACLs, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--npm-allowed-access-lists: %q is not an NPM access list id (a number, 0 or more)", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// entryPoints splits --traefik-entrypoints.
func (p ProxyConfig) entryPoints() []string {
	var out []string
	for _, ep := range strings.Split(p.TraefikEntryPoints, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			out = append(out, ep)
		}
	}
	return out
}
