package deployer

import (
	"context"
	"fmt"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// verify waits until the proxy confirms every route serves the new
// container, when the plugin is a Verifier, bounded by VerifyTimeout. It
// records how long the routes took to serve since the health check passed.
func (d *deploy) verify(ctx context.Context, routes []Route) error {
	v, ok := d.Proxy.(Verifier)
	if ok && len(routes) > 0 {
		vctx, cancel := context.WithTimeout(ctx, d.VerifyTimeout)
		defer cancel()
		for _, r := range routes {
			if err := v.Verify(vctx, r); err != nil {
				return fmt.Errorf("verify route %s (%s -> %s) within %s: %w", r.ID, r.Host, r.Upstream, d.VerifyTimeout, err)
			}
		}
	}
	if !d.healthy.IsZero() {
		d.switched = d.Now().Sub(d.healthy)
	}
	d.log.Debug().Bool("verified", ok).Int("routes", len(routes)).Dur(logkey.Switched, d.switched).Msg("routes serve the new container")
	return nil
}
