package traefikkv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug"
)

// pollEvery is the pause between two verification attempts.
const pollEvery = 100 * time.Millisecond

// Verify confirms that Redis holds r.s keys and, when Options.API
// is set, that Traefik itself runs the router on r's upstream (it applies
// a change after its providersThrottleDuration, 2s by default). It polls
// until then and returns the last mismatch when ctx ends.
func (p *Plugin) Verify(ctx context.Context, r deployer.Route) error {
	err := proxyplug.Poll(ctx, pollEvery, func(ctx context.Context) error { return p.check(ctx, r) })
	if err != nil {
		return fmt.Errorf("traefik-kv: route %s: %w", Name(r), err)
	}
	return nil
}

func (p *Plugin) check(ctx context.Context, r deployer.Route) error {
	want := p.s.keys(r)
	keys := slices.Sorted(maps.Keys(want))
	vals, err := p.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return fmt.Errorf("read back keys: %w", err)
	}
	for i, k := range keys {
		if got, _ := vals[i].(string); got != want[k] {
			return fmt.Errorf("key %s = %q, want %q", k, got, want[k])
		}
	}
	if p.opts.API == "" {
		return nil
	}
	return p.checkAPI(ctx, r)
}

// checkAPI asks Traefik's API whether it runs the router, enabled, and
// balances its service to r's upstream.
func (p *Plugin) checkAPI(ctx context.Context, r deployer.Route) error {
	name := Name(r)
	var router struct {
		Status string `json:"status"`
		Rule   string `json:"rule"`
	}
	if err := p.getJSON(ctx, "/api/http/routers/"+url.PathEscape(name+"@redis"), &router); err != nil {
		return err
	}
	if router.Status != "enabled" || router.Rule != p.s.keys(r)[p.s.routerKey(name)+"/rule"] {
		return fmt.Errorf("traefik runs router %s@redis as %q with rule %q", name, router.Status, router.Rule)
	}
	var svc struct {
		LoadBalancer struct {
			Servers []struct {
				URL string `json:"url"`
			} `json:"servers"`
		} `json:"loadBalancer"`
	}
	if err := p.getJSON(ctx, "/api/http/services/"+url.PathEscape(name+"@redis"), &svc); err != nil {
		return err
	}
	want := "http://" + r.Upstream
	for _, s := range svc.LoadBalancer.Servers {
		if s.URL == want {
			return nil
		}
	}
	return fmt.Errorf("traefik balances service %s@redis to %v, not yet %s", name, svc.LoadBalancer.Servers, want)
}

func (p *Plugin) getJSON(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(p.opts.API, "/")+path, nil)
	if err != nil {
		return err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("traefik api: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("traefik api GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("traefik api GET %s: %w", path, err)
	}
	return nil
}
