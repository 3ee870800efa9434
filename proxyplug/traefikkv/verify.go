package traefikkv

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug"
	"github.com/tinyforge/tinyforge/proxyplug/traefikapi"
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
	name := Name(r) + "@redis"
	api := traefikapi.Client{Base: p.opts.API, HTTP: p.http}
	router, err := api.Router(ctx, name)
	if err != nil {
		return err
	}
	if router.Status != "enabled" || router.Rule != p.s.keys(r)[p.s.routerKey(Name(r))+"/rule"] {
		return fmt.Errorf("traefik runs router %s as %q with rule %q", name, router.Status, router.Rule)
	}
	return api.CheckBalances(ctx, name, r.Upstream)
}
