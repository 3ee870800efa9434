package deployer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// LocalCoordinator is an in-process Coordinator over a Store: locks and
// journals live in memory, writes go to the Store under one mutex. It is
// what a lone sidecar without a shared store gets, and what unit tests
// use; it protects nothing across processes.
type LocalCoordinator struct {
	store Store
	now   func() time.Time

	mu       sync.Mutex
	locks    map[string]localLock
	epochs   map[string]int64
	fences   map[string]string
	journals map[string]Journal
}

type localLock struct {
	token   string
	expires time.Time
}

var _ Coordinator = (*LocalCoordinator)(nil)

// NewLocalCoordinator applies writes to store; now defaults to time.Now.
func NewLocalCoordinator(store Store, now func() time.Time) *LocalCoordinator {
	if now == nil {
		now = time.Now
	}
	return &LocalCoordinator{
		store: store, now: now,
		locks: map[string]localLock{}, epochs: map[string]int64{},
		fences: map[string]string{}, journals: map[string]Journal{},
	}
}

// NewToken returns a random lock token prefixed by owner.
func NewToken(owner string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return owner + "/" + hex.EncodeToString(b)
}

// FenceOf is the value a store keeps to recognise the newest lease.
func FenceOf(l Lease) string { return strings.Join([]string{itoa(l.Epoch), l.Token}, ":") }

func (c *LocalCoordinator) TryLock(_ context.Context, workload, owner string, ttl time.Duration) (Lease, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, held := c.locks[workload]; held && c.now().Before(l.expires) {
		return Lease{}, false, nil
	}
	c.epochs[workload]++
	l := Lease{Workload: workload, Token: NewToken(owner), Epoch: c.epochs[workload]}
	c.locks[workload] = localLock{token: l.Token, expires: c.now().Add(ttl)}
	c.fences[workload] = FenceOf(l)
	return l, true, nil
}

func (c *LocalCoordinator) Renew(_ context.Context, l Lease, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fences[l.Workload] != FenceOf(l) {
		return ErrLockLost
	}
	c.locks[l.Workload] = localLock{token: l.Token, expires: c.now().Add(ttl)}
	return nil
}

func (c *LocalCoordinator) Unlock(_ context.Context, l Lease) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.locks[l.Workload].token == l.Token {
		delete(c.locks, l.Workload)
	}
	return nil
}

func (c *LocalCoordinator) Commit(ctx context.Context, l Lease, w Writes) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fences[l.Workload] != FenceOf(l) {
		return ErrFenced
	}
	for _, in := range w.DeleteInstances {
		if err := c.store.DeleteInstance(ctx, in.ID); err != nil {
			return err
		}
	}
	for _, in := range w.Instances {
		if err := c.store.PutInstance(ctx, in); err != nil {
			return err
		}
	}
	if err := c.refresh(ctx, w.Refresh); err != nil {
		return err
	}
	for _, r := range w.DeleteRoutes {
		if err := c.store.DeleteRoute(ctx, r.ID); err != nil {
			return err
		}
	}
	for _, r := range w.Routes {
		if err := c.store.PutRoute(ctx, r); err != nil {
			return err
		}
	}
	if w.Journal != nil {
		c.journals[w.Journal.ID] = *w.Journal
	}
	if w.CloseJournal != "" {
		delete(c.journals, w.CloseJournal)
	}
	return nil
}

// refresh puts the instances whose record exists (Writes.Refresh).
func (c *LocalCoordinator) refresh(ctx context.Context, ins []Instance) error {
	for _, in := range ins {
		cur, err := c.store.Instances(ctx, in.Workload)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(cur, func(x Instance) bool { return x.ID == in.ID }) {
			continue
		}
		if err := c.store.PutInstance(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

func (c *LocalCoordinator) Forget(ctx context.Context, _ string, w Writes) error {
	if len(w.Instances)+len(w.Refresh)+len(w.Routes)+len(w.DeleteRoutes) > 0 || w.Journal != nil {
		return errors.New("forget: only instance deletions and a journal close go unfenced")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, in := range w.DeleteInstances {
		if err := c.store.DeleteInstance(ctx, in.ID); err != nil {
			return err
		}
	}
	if w.CloseJournal != "" {
		delete(c.journals, w.CloseJournal)
	}
	return nil
}

func (c *LocalCoordinator) Journals(context.Context) ([]Journal, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Collect(maps.Values(c.journals))
	slices.SortFunc(out, func(a, b Journal) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
