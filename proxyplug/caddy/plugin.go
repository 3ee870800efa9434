package caddy

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

// Options configure the plugin.
type Options struct {
	// AdminURL is Caddy's admin endpoint, e.g. http://localhost:2019. Its
	// host must be one Caddy's admin block allows (the listen address).
	AdminURL string
	// Server names the sidecar's HTTP server in Caddy's config. Default
	// "tinyforge".
	Server string
	// Listen is the server's listen addresses when the plugin creates it.
	// Default [":80"]. An existing server keeps its own.
	Listen []string
	// TLSListen is the listen addresses of the HTTPS server the plugin
	// creates for routes with TLS set. Default [":443"].
	TLSListen []string
	// HTTPSPort is the port clients reach the HTTPS server at (as
	// published, which may differ from TLSListen's): the redirect from
	// plain HTTP names it. 0 or 443 leave it out of the URL.
	HTTPSPort int
	// TLSIssuer issues the certificates of TLS routes: "acme" or "" for
	// Caddy's automatic HTTPS (ACME), "internal" for Caddy's own CA, for
	// offline use and tests (clients must trust its root).
	TLSIssuer string
	// Hooks, when set, is a route the plugin keeps in the HTTPS server
	// while Run runs: Hooks.Host's /v1/hooks/* to Hooks.Upstream.
	Hooks *Hooks
	// HTTPClient talks to the admin API. Default: a client with a 30s timeout.
	HTTPClient *http.Client
	// ProbeURL is Caddy's HTTP server as the sidecar reaches it, e.g.
	// http://127.0.0.1:80, optional: when set, Verify also sends a request
	// for the route's host through it.
	ProbeURL string
}

// Plugin switches routes in the sidecar's own server of a shared Caddy.
type Plugin struct {
	opts  Options
	admin adminClient
	// mu serialises this plugin's writes. Caddy resolves /id/<id> to an
	// array index and then applies the change in a second step, so a
	// delete landing in between would shift the index under a PATCH.
	mu sync.Mutex
}

var _ deployer.Proxy = (*Plugin)(nil)

// New returns a plugin for the Caddy at opts.AdminURL. It does not contact
// Caddy: the server is created on the first Upsert that needs it.
func New(opts Options) *Plugin {
	if opts.Server == "" {
		opts.Server = "tinyforge"
	}
	if len(opts.Listen) == 0 {
		opts.Listen = []string{":80"}
	}
	if len(opts.TLSListen) == 0 {
		opts.TLSListen = []string{":443"}
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Plugin{opts: opts, admin: newAdminClient(opts.AdminURL, opts.HTTPClient)}
}

// serverPath is the config path of the plain server, or of the HTTPS
// server (named <Server>-tls) when tls.
func (p *Plugin) serverPath(tls bool) string {
	return "/config/apps/http/servers/" + url.PathEscape(p.serverName(tls))
}

func (p *Plugin) serverName(tls bool) string {
	if tls {
		return p.opts.Server + "-tls"
	}
	return p.opts.Server
}

// Upsert points r.Host at r.Upstream. An existing route is replaced in
// place by one PATCH, which Caddy applies atomically, so the host is never
// unrouted; a new one is appended to the server, created first if absent.
func (p *Plugin) Upsert(ctx context.Context, r deployer.Route) error {
	id := routeID(r)
	if err := validate(r); err != nil {
		return fmt.Errorf("caddy: upsert route %s (%s): %w", id, r.Host, err)
	}
	var err error
	if r.TLS {
		err = p.upsertTLS(ctx, id, r.Host, newRoute(id+tlsSuffix, r))
	} else {
		err = p.upsert(ctx, id, newRoute(id, r))
	}
	if err != nil {
		return fmt.Errorf("caddy: upsert route %s (%s): %w", id, r.Host, err)
	}
	return nil
}

// upsert puts a plain-HTTP route. It tries PATCH before POST on every
// attempt, so retrying after a POST whose answer was lost replaces the
// route instead of adding it twice. Creating it removes the face's TLS
// routes, if the face had TLS before.
func (p *Plugin) upsert(ctx context.Context, id string, rt route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return retry(ctx, func() error {
		err := p.admin.do(ctx, http.MethodPatch, "/id/"+id, rt, nil)
		if !hasStatus(err, http.StatusNotFound) {
			return err // replaced in place, or failed
		}
		if err := p.deleteIDs(ctx, id+tlsSuffix, id+redirectSuffix); err != nil {
			return err
		}
		if err := p.ensureServer(ctx, false); err != nil {
			return err
		}
		return p.admin.do(ctx, http.MethodPost, p.serverPath(false)+"/routes", rt, nil)
	})
}

// upsertTLS puts rt (whose id is id.tls) in the HTTPS server and a
// redirect for host in the plain one. A switch is one PATCH of rt; the
// first time, the certificate's issuer is set up before the route exists,
// so Caddy never asks the wrong issuer for it.
func (p *Plugin) upsertTLS(ctx context.Context, id, host string, rt route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return retry(ctx, func() error {
		err := p.admin.do(ctx, http.MethodPatch, "/id/"+rt.ID, rt, nil)
		if !hasStatus(err, http.StatusNotFound) {
			return err
		}
		if err := p.deleteIDs(ctx, id); err != nil { // the face's plain route, if it had one
			return err
		}
		if err := p.ensureIssuer(ctx, host); err != nil {
			return err
		}
		if err := p.ensureServer(ctx, true); err != nil {
			return err
		}
		if err := p.admin.do(ctx, http.MethodPost, p.serverPath(true)+"/routes", rt, nil); err != nil {
			return err
		}
		return p.ensureRoute(ctx, false, redirectRoute(id+redirectSuffix, host, p.opts.HTTPSPort))
	})
}

// ensureRoute replaces the route rt.ID in place, or appends it to the
// plain (or HTTPS) server.
func (p *Plugin) ensureRoute(ctx context.Context, tls bool, rt route) error {
	err := p.admin.do(ctx, http.MethodPatch, "/id/"+rt.ID, rt, nil)
	if !hasStatus(err, http.StatusNotFound) {
		return err
	}
	if err := p.ensureServer(ctx, tls); err != nil {
		return err
	}
	return p.admin.do(ctx, http.MethodPost, p.serverPath(tls)+"/routes", rt, nil)
}

// ensureServer creates the plugin's plain (or HTTPS) server when absent.
// PUT fails rather than overwrite an existing key and creates the
// apps/http/servers objects above it, so a server another writer created
// in the meantime survives.
func (p *Plugin) ensureServer(ctx context.Context, tls bool) error {
	var s struct{}
	path := p.serverPath(tls)
	ok, err := p.admin.getOptional(ctx, path, &s)
	if err != nil || ok {
		return err
	}
	srv := newServer(p.opts.Listen)
	if tls {
		srv = newTLSServer(p.opts.TLSListen)
	}
	err = p.admin.do(ctx, http.MethodPut, path, srv, nil)
	if err == nil {
		return nil
	}
	// Another writer may have created it between the GET and the PUT.
	if ok, gerr := p.admin.getOptional(ctx, path, &s); gerr != nil || ok {
		return gerr
	}
	return fmt.Errorf("create server %s: %w", p.serverName(tls), err)
}

// deleteIDs removes the routes ids; one already gone is not an error.
func (p *Plugin) deleteIDs(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		err := p.admin.do(ctx, http.MethodDelete, "/id/"+id, nil, nil)
		if err != nil && !hasStatus(err, http.StatusNotFound) {
			return err
		}
	}
	return nil
}

// Delete removes r's routes (plain, or HTTPS and its redirect). A route
// already gone is not an error.
func (p *Plugin) Delete(ctx context.Context, r deployer.Route) error {
	id := routeID(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	err := retry(ctx, func() error { return p.deleteIDs(ctx, id, id+tlsSuffix, id+redirectSuffix) })
	if err != nil {
		return fmt.Errorf("caddy: delete route %s (%s): %w", id, r.Host, err)
	}
	return nil
}

// Routes returns the id of every route in the plugin's servers, plain
// first, in Caddy's order, so a resync can delete the ones no workload
// claims: a TLS face's pair counts once, under its route id, and the hooks
// route is not listed (Run keeps it). An absent server has none.
func (p *Plugin) Routes(ctx context.Context) ([]string, error) {
	ids := []string{}
	seen := map[string]bool{}
	for _, tls := range []bool{false, true} {
		var s struct {
			Routes []struct {
				ID string `json:"@id"`
			} `json:"routes"`
		}
		err := retry(ctx, func() error {
			_, err := p.admin.getOptional(ctx, p.serverPath(tls), &s)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("caddy: list routes of server %s: %w", p.serverName(tls), err)
		}
		for _, r := range s.Routes {
			id := strings.TrimSuffix(strings.TrimSuffix(r.ID, tlsSuffix), redirectSuffix)
			if id != "" && id != p.hooksID() && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}
