// Package npm is the deployer.Proxy for Nginx Proxy Manager, through its
// REST API (http://<npm>:81/api). Each route is one proxy host, found by
// its domain name and replaced in place by a PUT, so the host stays
// routed across a switch. NPM tests every config with nginx -t: a config
// that fails is set aside and the host goes offline
// (meta.nginx_online=false), so after every write the plugin reads the
// host back and reports an offline host as a failed switch; the deployer
// then restores the previous upstream.
//
// Hosts the plugin writes carry meta.tinyforge_route = <route id>, which
// is how Upsert, Routes and Delete tell them from hosts people made by
// hand: Upsert refuses (ErrNotOurs) to change a host without that mark or
// marked for another route, and Delete never removes one.
package npm

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug"
)

// metaRoute is the key in a proxy host's meta that marks it as the
// sidecar's, holding the route id.
const metaRoute = "tinyforge_route"

// Options configure the plugin.
type Options struct {
	// URL is NPM's admin address, e.g. http://npm:81.
	URL string
	// Identity and Secret are the login (e-mail and password) of an NPM
	// user allowed to manage proxy hosts.
	Identity, Secret string
	// CertificateID is the NPM certificate for every host (0 = none,
	// plain HTTP); with one, SSL is forced.
	CertificateID int
	// AccessListID is the NPM access list of hosts whose face names none
	// (0 = public).
	AccessListID int
	// AllowedAccessLists are the access lists a face may name besides
	// AccessListID (0 among them lets a face make its host public). Empty
	// with a public AccessListID: any non-zero list.
	AllowedAccessLists []int
	// HTTPClient talks to NPM. Default: a 60s timeout (NPM reloads nginx
	// before it answers a write).
	HTTPClient *http.Client
	// Now is the clock used for token expiry. Default time.Now.
	Now func() time.Time
}

// Plugin switches routes as NPM proxy hosts.
type Plugin struct {
	opts Options
	api  *client
}

var (
	_ deployer.Proxy    = (*Plugin)(nil)
	_ deployer.Verifier = (*Plugin)(nil)
)

// New returns a plugin for the NPM at opts.URL. It logs in on first use.
func New(opts Options) (*Plugin, error) {
	if opts.URL == "" || opts.Identity == "" || opts.Secret == "" {
		return nil, fmt.Errorf("npm: URL, identity and secret are required")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Plugin{opts: opts, api: &client{
		base: strings.TrimRight(opts.URL, "/"), identity: opts.Identity, secret: opts.Secret,
		http: opts.HTTPClient, now: opts.Now,
	}}, nil
}

// host is the part of NPM's proxy host object the plugin reads.
type host struct {
	ID            int            `json:"id"`
	DomainNames   []string       `json:"domain_names"`
	ForwardScheme string         `json:"forward_scheme"`
	ForwardHost   string         `json:"forward_host"`
	ForwardPort   int            `json:"forward_port"`
	CertificateID any            `json:"certificate_id"`
	AccessListID  int            `json:"access_list_id"`
	Enabled       any            `json:"enabled"` // NPM answers true/false or 1/0
	Meta          map[string]any `json:"meta"`
}

// hostBody is what the plugin writes: only fields NPM's schema accepts
// (it refuses unknown ones).
type hostBody struct {
	DomainNames           []string       `json:"domain_names"`
	ForwardScheme         string         `json:"forward_scheme"`
	ForwardHost           string         `json:"forward_host"`
	ForwardPort           int            `json:"forward_port"`
	CertificateID         int            `json:"certificate_id"`
	AccessListID          int            `json:"access_list_id"`
	SSLForced             bool           `json:"ssl_forced"`
	AllowWebsocketUpgrade bool           `json:"allow_websocket_upgrade"`
	BlockExploits         bool           `json:"block_exploits"`
	Meta                  map[string]any `json:"meta"`
}

// body is the proxy host for r; meta keeps whatever else the host's meta
// held (e.g. Let's Encrypt settings) minus NPM's own status fields.
func (p *Plugin) body(r deployer.Route, meta map[string]any) (hostBody, error) {
	fhost, fport, err := splitUpstream(r.Upstream)
	if err != nil {
		return hostBody{}, err
	}
	acl, err := p.accessList(r)
	if err != nil {
		return hostBody{}, err
	}
	m := maps.Clone(meta)
	if m == nil {
		m = map[string]any{}
	}
	delete(m, "nginx_online")
	delete(m, "nginx_err")
	m[metaRoute] = r.ID
	return hostBody{
		DomainNames:           []string{strings.ToLower(r.Host)},
		ForwardScheme:         "http",
		ForwardHost:           fhost,
		ForwardPort:           fport,
		CertificateID:         p.opts.CertificateID,
		AccessListID:          acl,
		SSLForced:             p.opts.CertificateID > 0,
		AllowWebsocketUpgrade: true,
		BlockExploits:         false,
		Meta:                  m,
	}, nil
}

// Upsert points r.Host at r.Upstream: the proxy host serving that domain
// is updated in place when the sidecar made it for r, or created; a host
// made by hand or for another route is refused with ErrNotOurs and left
// untouched. It then reads the host back and fails unless NPM runs it
// (nginx_online) with the new upstream.
func (p *Plugin) Upsert(ctx context.Context, r deployer.Route) error {
	if err := p.upsert(ctx, r); err != nil {
		return fmt.Errorf("npm: upsert route %s (%s): %w", r.ID, r.Host, err)
	}
	return nil
}

func (p *Plugin) upsert(ctx context.Context, r deployer.Route) error {
	cur, found, err := p.find(ctx, r.Host)
	if err != nil {
		return err
	}
	if found {
		if err := checkOwner(cur, r); err != nil {
			return err
		}
	}
	b, err := p.body(r, cur.Meta)
	if err != nil {
		return err
	}
	if found {
		b.DomainNames = cur.DomainNames
	}
	var saved host
	if found {
		err = p.api.do(ctx, http.MethodPut, "/api/nginx/proxy-hosts/"+strconv.Itoa(cur.ID), b, &saved)
	} else {
		err = p.api.do(ctx, http.MethodPost, "/api/nginx/proxy-hosts", b, &saved)
	}
	if err != nil {
		return err
	}
	return p.readBack(ctx, saved.ID, r)
}

// readBack fetches host id and checks that NPM serves it, online, on r's
// upstream.
func (p *Plugin) readBack(ctx context.Context, id int, r deployer.Route) error {
	var h host
	if err := p.api.do(ctx, http.MethodGet, "/api/nginx/proxy-hosts/"+strconv.Itoa(id), nil, &h); err != nil {
		return fmt.Errorf("read back host %d: %w", id, err)
	}
	return check(h, r)
}

// check compares a host read from NPM with the route it must serve.
func check(h host, r deployer.Route) error {
	if online, ok := h.Meta["nginx_online"].(bool); ok && !online {
		return fmt.Errorf("nginx rejected the config of host %d, now offline: %v", h.ID, h.Meta["nginx_err"])
	}
	if h.Enabled == false || h.Enabled == float64(0) {
		return fmt.Errorf("host %d is disabled in NPM", h.ID)
	}
	fhost, fport, _ := splitUpstream(r.Upstream)
	if h.ForwardHost != fhost || h.ForwardPort != fport {
		return fmt.Errorf("host %d forwards to %s:%d, want %s", h.ID, h.ForwardHost, h.ForwardPort, r.Upstream)
	}
	return nil
}

// Verify reads r's host back until NPM serves it online on r.Upstream.
func (p *Plugin) Verify(ctx context.Context, r deployer.Route) error {
	err := proxyplug.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) error { return p.verifyOnce(ctx, r) })
	if err != nil {
		return fmt.Errorf("npm: route %s (%s): %w", r.ID, r.Host, err)
	}
	return nil
}

// verifyOnce checks once that NPM holds r's host, online, forwarding to r.
func (p *Plugin) verifyOnce(ctx context.Context, r deployer.Route) error {
	h, found, err := p.find(ctx, r.Host)
	switch {
	case err != nil:
		return err
	case !found:
		return fmt.Errorf("no proxy host for %s", r.Host)
	default:
		if err := checkOwner(h, r); err != nil {
			return err
		}
		return check(h, r)
	}
}

// Delete removes the proxy host of r.Host if the sidecar made it. A host
// already gone, or one made by hand, is left alone without error.
func (p *Plugin) Delete(ctx context.Context, r deployer.Route) error {
	h, found, err := p.find(ctx, r.Host)
	if err == nil && found && h.Meta[metaRoute] == r.ID {
		err = p.api.do(ctx, http.MethodDelete, "/api/nginx/proxy-hosts/"+strconv.Itoa(h.ID), nil, nil)
		if hasCode(err, http.StatusNotFound) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("npm: delete route %s (%s): %w", r.ID, r.Host, err)
	}
	return nil
}

// Routes returns the route ids of the hosts the sidecar made, sorted.
func (p *Plugin) Routes(ctx context.Context) ([]string, error) {
	hosts, err := p.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("npm: list routes: %w", err)
	}
	var ids []string
	for _, h := range hosts {
		if id, ok := h.Meta[metaRoute].(string); ok && id != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (p *Plugin) list(ctx context.Context) ([]host, error) {
	var hosts []host
	if err := p.api.do(ctx, http.MethodGet, "/api/nginx/proxy-hosts", nil, &hosts); err != nil {
		return nil, err
	}
	return hosts, nil
}

// find returns the proxy host serving domain (NPM keeps each domain on at
// most one host).
func (p *Plugin) find(ctx context.Context, domain string) (host, bool, error) {
	hosts, err := p.list(ctx)
	if err != nil {
		return host{}, false, fmt.Errorf("list proxy hosts: %w", err)
	}
	for _, h := range hosts {
		for _, d := range h.DomainNames {
			if strings.EqualFold(d, domain) {
				return h, true, nil
			}
		}
	}
	return host{}, false, nil
}

func splitUpstream(upstream string) (string, int, error) {
	h, port, err := net.SplitHostPort(upstream)
	if err != nil {
		return "", 0, fmt.Errorf("invalid upstream %q: %w", upstream, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || h == "" {
		return "", 0, fmt.Errorf("invalid upstream %q: want host:port with port 1-65535", upstream)
	}
	return h, n, nil
}
