package caddy

import (
	"context"
	"fmt"
	"reflect"
	"time"
)

// Hooks is the route of the sidecar's own webhooks: HTTPS requests for
// Host whose path is under /v1/hooks/ go to Upstream (the sidecar's
// listener as Caddy dials it); every other path gets 404, so nothing of
// the management API is reachable through it.
type Hooks struct {
	Host     string
	Upstream string
	// Every is how often Run checks the route is still there. Default 30s.
	Every time.Duration
	// OnError, when set, hears each failed attempt to put the route back.
	OnError func(error)
}

func (p *Plugin) hooksID() string { return p.opts.Server + ".hooks" }

// EnsureHooks puts the hooks route (and its HTTP redirect) in place, or
// back in place after Caddy lost its config. Without Options.Hooks it
// does nothing.
func (p *Plugin) EnsureHooks(ctx context.Context) error {
	h := p.opts.Hooks
	if h == nil {
		return nil
	}
	id := p.hooksID()
	rt := hooksRoute(id+tlsSuffix, h.Host, h.Upstream)
	if p.present(ctx, rt, redirectRoute(id+redirectSuffix, h.Host, p.opts.HTTPSPort)) {
		return nil // every write reloads Caddy's config: write only what is missing
	}
	if err := p.upsertTLS(ctx, id, h.Host, rt); err != nil {
		return fmt.Errorf("caddy: hooks route %s (%s): %w", id, h.Host, err)
	}
	return nil
}

// present reports whether Caddy holds exactly these routes.
func (p *Plugin) present(ctx context.Context, want ...route) bool {
	for _, w := range want {
		var got route
		ok, err := p.admin.getOptional(ctx, "/id/"+w.ID, &got)
		if err != nil || !ok || !reflect.DeepEqual(got, w) {
			return false
		}
	}
	return true
}

// Run keeps the hooks route until ctx ends: at once, then every
// Hooks.Every. The sidecar runs it for its whole life.
func (p *Plugin) Run(ctx context.Context) error {
	h := p.opts.Hooks
	if h == nil {
		return nil
	}
	every := h.Every
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := p.EnsureHooks(ctx); err != nil && ctx.Err() == nil && h.OnError != nil {
			h.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
