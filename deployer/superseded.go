package deployer

import "context"

type supersededKey struct{}

// withSuperseded returns ctx carrying newer, a channel the queue closes
// when a newer request for the same workload arrives.
func withSuperseded(ctx context.Context, newer <-chan struct{}) context.Context {
	return context.WithValue(ctx, supersededKey{}, newer)
}

// Superseded returns a channel that is closed once a newer request for
// the workload of the deploy running under ctx has been queued, or nil
// (never ready) when ctx does not come from the Queue. The deploy then
// ends its post-switch watch early: the newer version is what the user
// waits for.
func Superseded(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(supersededKey{}).(<-chan struct{})
	return ch
}
