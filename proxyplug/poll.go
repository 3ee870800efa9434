package proxyplug

import (
	"context"
	"time"
)

// Poll calls check every interval until it succeeds or ctx ends, and then
// returns the last real failure: not the cancellation that cut the final
// attempt short, which would hide what never matched. Plugins confirm a
// switch with it (deployer.Verifier).
func Poll(ctx context.Context, every time.Duration, check func(context.Context) error) error {
	var last error
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(every):
		}
	}
}
