package caddy

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
	// TLS leaves Caddy's automatic HTTPS on for the created server. Off by
	// default: the server is a plain-HTTP edge.
	TLS bool
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
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Plugin{opts: opts, admin: newAdminClient(opts.AdminURL, opts.HTTPClient)}
}

func (p *Plugin) serverPath() string {
	return "/config/apps/http/servers/" + url.PathEscape(p.opts.Server)
}

// Upsert points r.Host at r.Upstream. An existing route is replaced in
// place by one PATCH, which Caddy applies atomically, so the host is never
// unrouted; a new one is appended to the server, created first if absent.
func (p *Plugin) Upsert(ctx context.Context, r deployer.Route) error {
	id := routeID(r)
	if err := validate(r); err != nil {
		return fmt.Errorf("caddy: upsert route %s (%s): %w", id, r.Host, err)
	}
	if err := p.upsert(ctx, id, newRoute(id, r)); err != nil {
		return fmt.Errorf("caddy: upsert route %s (%s): %w", id, r.Host, err)
	}
	return nil
}

// upsert tries PATCH before POST on every attempt, so retrying after a
// POST whose answer was lost replaces the route instead of adding it twice.
func (p *Plugin) upsert(ctx context.Context, id string, rt route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return retry(ctx, func() error {
		err := p.admin.do(ctx, http.MethodPatch, "/id/"+id, rt, nil)
		if !hasStatus(err, http.StatusNotFound) {
			return err // replaced in place, or failed
		}
		if err := p.ensureServer(ctx); err != nil {
			return err
		}
		return p.admin.do(ctx, http.MethodPost, p.serverPath()+"/routes", rt, nil)
	})
}

// ensureServer creates the plugin's server when absent. PUT fails rather
// than overwrite an existing key and creates the apps/http/servers objects
// above it, so a server another writer created in the meantime survives.
func (p *Plugin) ensureServer(ctx context.Context) error {
	var s struct{}
	ok, err := p.admin.getOptional(ctx, p.serverPath(), &s)
	if err != nil || ok {
		return err
	}
	err = p.admin.do(ctx, http.MethodPut, p.serverPath(), newServer(p.opts.Listen, p.opts.TLS), nil)
	if err == nil {
		return nil
	}
	// Another writer may have created it between the GET and the PUT.
	if ok, gerr := p.admin.getOptional(ctx, p.serverPath(), &s); gerr != nil || ok {
		return gerr
	}
	return fmt.Errorf("create server %s: %w", p.opts.Server, err)
}

// Delete removes r's route. A route already gone is not an error.
func (p *Plugin) Delete(ctx context.Context, r deployer.Route) error {
	id := routeID(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	err := retry(ctx, func() error { return p.admin.do(ctx, http.MethodDelete, "/id/"+id, nil, nil) })
	if err != nil && !hasStatus(err, http.StatusNotFound) {
		return fmt.Errorf("caddy: delete route %s (%s): %w", id, r.Host, err)
	}
	return nil
}

// Routes returns the "@id" of every route in the plugin's server, in
// Caddy's order, so a resync can delete the ones no workload claims. An
// absent server has none.
func (p *Plugin) Routes(ctx context.Context) ([]string, error) {
	var s struct {
		Routes []struct {
			ID string `json:"@id"`
		} `json:"routes"`
	}
	err := retry(ctx, func() error {
		_, err := p.admin.getOptional(ctx, p.serverPath(), &s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("caddy: list routes of server %s: %w", p.opts.Server, err)
	}
	ids := make([]string, 0, len(s.Routes))
	for _, r := range s.Routes {
		if r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}
