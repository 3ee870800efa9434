package traefikkv

import (
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge/deployer"
)

// Name is the router and service name of r: its id (deployer.RouteID)
// reduced to letters, digits, '-' and '_'. Traefik forbids '@' in names,
// and '.' or '/' would split a key segment in other providers. The name
// depends only on the route's identity, so a switch rewrites the same keys.
func Name(r deployer.Route) string {
	id := r.ID
	if id == "" {
		id = deployer.RouteID(r.Workload, r.Face)
	}
	return strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			return c
		case c >= 'A' && c <= 'Z':
			return c + 'a' - 'A' // Traefik's KV keys are case-insensitive
		}
		return '-'
	}, id)
}

// settings are the sidecar-wide parts of every router.
type settings struct {
	root         string
	entryPoints  []string
	certResolver string
}

// routerKey and serviceKey are the key prefixes of one router and service.
func (s settings) routerKey(name string) string  { return s.root + "/http/routers/" + name }
func (s settings) serviceKey(name string) string { return s.root + "/http/services/" + name }

// keys is the complete key set of r, key -> value. TLS is on when the face
// asks for it or a certificate resolver is configured (a resolver only
// makes sense on a TLS router).
func (s settings) keys(r deployer.Route) map[string]string {
	name := Name(r)
	router := s.routerKey(name)
	out := map[string]string{
		router + "/rule":    "Host(`" + r.Host + "`)",
		router + "/service": name,
		s.serviceKey(name) + "/loadbalancer/servers/0/url": "http://" + r.Upstream,
	}
	for i, ep := range s.entryPoints {
		out[router+"/entrypoints/"+strconv.Itoa(i)] = ep
	}
	if r.TLS || s.certResolver != "" {
		out[router+"/tls"] = "true"
		if s.certResolver != "" {
			out[router+"/tls/certresolver"] = s.certResolver
		}
	}
	return out
}

// stale returns the keys of old that next no longer has.
func stale(old, next map[string]string) []string {
	var out []string
	for k := range old {
		if _, ok := next[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}
