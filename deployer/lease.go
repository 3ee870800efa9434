package deployer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// Defaults of the lock protocol.
const (
	DefaultLockTTL  = 15 * time.Second
	defaultLockPoll = 200 * time.Millisecond
)

// lock waits until workload's deploy lock is granted or ctx ends. Several
// sidecars sharing one store therefore never run overlapping deploys of
// one workload.
func (e *Engine) lock(ctx context.Context, workload string) (Lease, error) {
	logged := false
	for {
		released := e.released.wait() // taken before trying, so no release is missed
		l, ok, err := e.Coord.TryLock(ctx, workload, e.Owner, e.LockTTL)
		if err != nil {
			return Lease{}, fmt.Errorf("lock %s: %w", workload, err)
		}
		if ok {
			return l, nil
		}
		if !logged {
			e.Log.Info().Str(logkey.Workload, workload).Msg("deploy lock busy: waiting for the deploy in progress")
			logged = true
		}
		// Jitter keeps waiting sidecars from polling in step; a release in
		// this process wakes the waiter at once.
		wait := e.LockPoll/2 + rand.N(e.LockPoll)
		select {
		case <-ctx.Done():
			return Lease{}, fmt.Errorf("lock %s: %w", workload, context.Cause(ctx))
		case <-released:
		case <-time.After(wait):
		}
	}
}

// keepLease renews l every third of its TTL until the returned stop is
// called, which also releases the lock. When the lease is lost to a newer
// one, the returned context is cancelled with ErrLockLost as its cause, so
// the deploy stops at its next step.
func (e *Engine) keepLease(ctx context.Context, l Lease) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(max(e.LockTTL/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return // cancelled (shutdown): stop renewing, the lock expires
			case <-t.C:
			}
			err := e.Coord.Renew(ctx, l, e.LockTTL)
			if errors.Is(err, ErrLockLost) {
				e.Log.Warn().Str(logkey.Workload, l.Workload).Int64("epoch", l.Epoch).Msg("deploy lock lost to a newer lease: stopping")
				cancel(ErrLockLost)
				return
			}
			if err != nil {
				e.Log.Warn().Err(err).Str(logkey.Workload, l.Workload).Msg("renew deploy lock")
			}
		}
	}()
	return ctx, func() {
		close(done)
		<-stopped
		uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer ucancel()
		if err := e.Coord.Unlock(uctx, l); err != nil {
			e.Log.Warn().Err(err).Str(logkey.Workload, l.Workload).Msg("release deploy lock (it expires by itself)")
		}
		e.released.notify()
		cancel(nil)
	}
}

// lockNotes wakes every lock waiter of this process when a lease of this
// process is released, so a deploy queued behind a local one starts at
// once instead of at its next poll. Waiters on another sidecar still poll.
type lockNotes struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next release.
func (n *lockNotes) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *lockNotes) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}
