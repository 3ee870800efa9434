package caddy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug"
)

var _ deployer.Verifier = (*Plugin)(nil)

// Verify confirms through Caddy that r serves r.Upstream: the upstream is
// in Caddy's live upstream pool (GET /reverse_proxy/upstreams on the admin
// API) and, when Options.ProbeURL is set, a request for r.Host through
// Caddy's HTTP server gets an answer that is not a gateway error. Caddy
// applies a config before the admin call returns, so this normally passes
// on the first attempt; it polls until ctx ends otherwise.
func (p *Plugin) Verify(ctx context.Context, r deployer.Route) error {
	err := proxyplug.Poll(ctx, 50*time.Millisecond, func(ctx context.Context) error { return p.check(ctx, r) })
	if err != nil {
		return fmt.Errorf("caddy: route %s (%s): %w", routeID(r), r.Host, err)
	}
	return nil
}

func (p *Plugin) check(ctx context.Context, r deployer.Route) error {
	var pool []struct {
		Address string `json:"address"`
	}
	if err := p.admin.do(ctx, http.MethodGet, "/reverse_proxy/upstreams", nil, &pool); err != nil {
		return fmt.Errorf("read upstream pool: %w", err)
	}
	found := false
	for _, u := range pool {
		found = found || u.Address == r.Upstream
	}
	if !found {
		return fmt.Errorf("upstream %s not in Caddy's pool", r.Upstream)
	}
	if p.opts.ProbeURL == "" {
		return nil
	}
	return p.probe(ctx, r)
}

// probe sends GET / for r.Host through Caddy. 502, 503 and 504 are Caddy
// failing to reach the upstream; anything else is the upstream answering.
func (p *Plugin) probe(ctx context.Context, r deployer.Route) error {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, strings.TrimRight(p.opts.ProbeURL, "/")+"/", nil)
	if err != nil {
		return err
	}
	req.Host = r.Host
	resp, err := p.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe through caddy: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return fmt.Errorf("probe through caddy: %s", resp.Status)
	}
	return nil
}
