package caddy

import (
	"strings"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug"
)

// The JSON shapes written to Caddy: only the fields the plugin sets.
type (
	server struct {
		Listen         []string   `json:"listen"`
		Routes         []route    `json:"routes"`
		AutomaticHTTPS *autoHTTPS `json:"automatic_https,omitempty"`
	}
	autoHTTPS struct {
		Disable bool `json:"disable"`
	}
	route struct {
		ID       string    `json:"@id"`
		Match    []match   `json:"match"`
		Handle   []handler `json:"handle"`
		Terminal bool      `json:"terminal"`
	}
	match struct {
		Host []string `json:"host"`
	}
	handler struct {
		Handler   string     `json:"handler"`
		Upstreams []upstream `json:"upstreams"`
	}
	upstream struct {
		Dial string `json:"dial"`
	}
)

// newServer is the plugin's server as first created: no routes yet, and
// automatic HTTPS off unless tls, since host-matched routes would otherwise
// make Caddy obtain certificates and redirect HTTP to HTTPS.
func newServer(listen []string, tls bool) server {
	s := server{Listen: listen, Routes: []route{}}
	if !tls {
		s.AutomaticHTTPS = &autoHTTPS{Disable: true}
	}
	return s
}

// newRoute is the Caddy route sending r.Host to r.Upstream.
func newRoute(id string, r deployer.Route) route {
	return route{
		ID:       id,
		Match:    []match{{Host: []string{r.Host}}},
		Handle:   []handler{{Handler: "reverse_proxy", Upstreams: []upstream{{Dial: r.Upstream}}}},
		Terminal: true,
	}
}

// routeID is the "@id" of r: its ID, or deployer.RouteID when it has
// none, reduced to characters safe in an /id/<id> URL path. It depends only
// on the route's identity, never on its upstream, so a switch replaces the
// route in place.
func routeID(r deployer.Route) string {
	id := r.ID
	if id == "" {
		id = deployer.RouteID(r.Workload, r.Face)
	}
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			return c
		}
		return '-'
	}, id)
}

// validate rejects what Caddy 2.6 would accept and only fail on at request
// time: it loads any dial string ("no-port", "http://x:1") and any host, so a
// bad route would be a live route answering 502 to every request.
func validate(r deployer.Route) error {
	return proxyplug.CheckRoute(r, " \t\r\n/", " /{}")
}
