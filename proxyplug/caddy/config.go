package caddy

import (
	"strconv"
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
		Disable          bool `json:"disable,omitempty"`
		DisableRedirects bool `json:"disable_redirects,omitempty"`
	}
	route struct {
		ID       string    `json:"@id,omitempty"`
		Match    []match   `json:"match,omitempty"`
		Handle   []handler `json:"handle"`
		Terminal bool      `json:"terminal,omitempty"`
	}
	match struct {
		Host []string `json:"host,omitempty"`
		Path []string `json:"path,omitempty"`
	}
	// handler is one of reverse_proxy (Upstreams), static_response
	// (StatusCode, Headers, Body) and subroute (Routes).
	handler struct {
		Handler    string              `json:"handler"`
		Upstreams  []upstream          `json:"upstreams,omitempty"`
		StatusCode int                 `json:"status_code,omitempty"`
		Headers    map[string][]string `json:"headers,omitempty"`
		Body       string              `json:"body,omitempty"`
		Routes     []route             `json:"routes,omitempty"`
	}
	upstream struct {
		Dial string `json:"dial"`
	}
	// policy is an automation policy of Caddy's tls app.
	policy struct {
		ID       string   `json:"@id"`
		Subjects []string `json:"subjects"`
		Issuers  []issuer `json:"issuers"`
	}
	issuer struct {
		Module string `json:"module"`
	}
)

// newServer is the plugin's plain-HTTP server as first created: no routes
// yet, and automatic HTTPS off, since host-matched routes would otherwise
// make Caddy obtain certificates and redirect HTTP to HTTPS.
func newServer(listen []string) server {
	return server{Listen: listen, Routes: []route{}, AutomaticHTTPS: &autoHTTPS{Disable: true}}
}

// newTLSServer is the plugin's HTTPS server: Caddy's automatic HTTPS
// manages the certificate of every host routed in it, but adds no
// redirects of its own: the plain server carries one per TLS host, so the
// two servers never compete for the HTTP port.
func newTLSServer(listen []string) server {
	return server{Listen: listen, Routes: []route{}, AutomaticHTTPS: &autoHTTPS{DisableRedirects: true}}
}

// newRoute is the Caddy route sending r.Host to r.Upstream.
func newRoute(id string, r deployer.Route) route {
	return route{
		ID:       id,
		Match:    []match{{Host: []string{r.Host}}},
		Handle:   []handler{proxyTo(r.Upstream)},
		Terminal: true,
	}
}

func proxyTo(dial string) handler {
	return handler{Handler: "reverse_proxy", Upstreams: []upstream{{Dial: dial}}}
}

// redirectRoute answers plain-HTTP requests for host with a permanent
// redirect to the same URL over HTTPS, at port (when not 443).
func redirectRoute(id, host string, port int) route {
	hostport := "{http.request.host}"
	if port != 0 && port != 443 {
		hostport += ":" + strconv.Itoa(port)
	}
	return route{
		ID:    id,
		Match: []match{{Host: []string{host}}},
		Handle: []handler{{
			Handler:    "static_response",
			StatusCode: 308,
			Headers:    map[string][]string{"Location": {"https://" + hostport + "{http.request.uri}"}},
		}},
		Terminal: true,
	}
}

// hooksRoute sends host's /v1/hooks/* to upstream and answers 404 to any
// other path, so none of the management API is reachable through it.
func hooksRoute(id, host, dial string) route {
	return route{
		ID:    id,
		Match: []match{{Host: []string{host}}},
		Handle: []handler{{Handler: "subroute", Routes: []route{
			{Match: []match{{Path: []string{"/v1/hooks/*"}}}, Handle: []handler{proxyTo(dial)}, Terminal: true},
			{Handle: []handler{{Handler: "static_response", StatusCode: 404, Body: "not found\n"}}},
		}}},
		Terminal: true,
	}
}

// Suffixes of the "@id"s of a TLS face's two routes: <id>.tls in the HTTPS
// server, <id>.http (the redirect) in the plain one. Route ids the
// deployer makes never hold a dot, so these cannot collide with them.
const (
	tlsSuffix      = ".tls"
	redirectSuffix = ".http"
)

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
