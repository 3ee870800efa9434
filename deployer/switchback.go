package deployer

import (
	"context"
	"errors"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// switchBack switches the routes back to the container they pointed at
// before the deploy, after the new one failed its watch. The old container
// was kept running through the watch, so this is instant. Without a
// previous container (a first deploy) there is nothing better to route
// to, and the routes stay.
func (d *deploy) switchBack(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	prevID := d.j.previousContainer()
	if prevID == "" {
		d.log.Error().Msg("watch failed and no previous container to return to: routes stay")
		return
	}
	c, err := d.Docker.Inspect(ctx, prevID)
	if err != nil || !c.Running {
		d.log.Error().Err(err).Str("previous", prevID).Str("state", c.State).Msg("watch failed and the previous container is not running: routes stay")
		return
	}
	prev := Instance{ID: c.ID, Name: c.Name, Address: c.IPs[d.network], HostPorts: c.HostPorts}
	back := d.routesFor(prev)
	// Fence check before the proxy is touched.
	if err := d.commit(ctx, Writes{}); err != nil {
		d.log.Error().Err(err).Msg("roll back: lease check")
		return
	}
	for _, r := range back {
		if err := d.Proxy.Upsert(ctx, r); err != nil {
			d.log.Error().Err(err).Str(logkey.Route, r.ID).Msg("roll back route; recovery will retry")
			return
		}
	}
	d.inst.Routes = nil
	if err := d.commit(ctx, Writes{Routes: back, Instances: []Instance{d.inst}}); err != nil {
		if errors.Is(err, ErrFenced) {
			d.reassert(ctx, back)
		}
		d.log.Error().Err(err).Msg("record rolled-back routes; recovery will")
		return
	}
	d.routed, d.rolledBack = false, true
	d.log.Warn().Str("previous", c.Name).Msg("watch failed: routes back on the previous container")
}
