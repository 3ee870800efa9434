package dnsplug

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// fakeProvider answers from a map of names it holds, failing on demand.
type fakeProvider struct {
	mu    sync.Mutex
	held  map[string]bool
	fail  error // every call fails with it while set
	calls []string
}

func (p *fakeProvider) call(op, fqdn string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, op+" "+fqdn)
	return p.fail
}

func (p *fakeProvider) Ensure(_ context.Context, r Record) (Status, error) {
	if err := p.call("ensure", r.FQDN); err != nil {
		return failed(Status{FQDN: r.FQDN}, "dns ensure", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := !p.held[r.FQDN]
	p.held[r.FQDN] = true
	return Status{FQDN: r.FQDN, State: dnsrec.StateOK, Changed: changed}, nil
}

func (p *fakeProvider) Remove(_ context.Context, fqdn string, _ Owner) (Status, error) {
	if err := p.call("remove", fqdn); err != nil {
		return failed(Status{FQDN: fqdn}, "dns remove", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := p.held[fqdn]
	delete(p.held, fqdn)
	return Status{FQDN: fqdn, State: dnsrec.StateRemoved, Changed: changed}, nil
}

func (p *fakeProvider) Verify(context.Context, Record) (Status, error) { return Status{}, nil }

func (p *fakeProvider) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		if strings.HasPrefix(c, op+" ") {
			n++
		}
	}
	return n
}

func newTestKeeper(p Provider) *Keeper {
	return NewKeeper(KeeperOptions{Provider: p, Instance: "edge", Log: zerolog.Nop(),
		Config:  Config{Zone: "example.com", PublicIP: "203.0.113.7"},
		Timeout: time.Second, Recheck: time.Hour, Tick: 10 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
}

func only(t *testing.T, k *Keeper, workload string) RecordStatus {
	t.Helper()
	st := k.Statuses()[workload]
	if len(st) != 1 {
		t.Fatalf("statuses of %s = %+v, want one", workload, st)
	}
	return st[0]
}

func TestKeeperFailureIsANoteThenRetriedInTheBackground(t *testing.T) {
	p := &fakeProvider{held: map[string]bool{}, fail: fmt.Errorf("%w: shop.example.com: server answered NOTAUTH (TSIG BADKEY)", ErrRefused)}
	k := newTestKeeper(p)
	note := k.Ensure(context.Background(), "shop", []string{"Shop.example.com"})
	if !strings.Contains(note, "shop.example.com: record not in place, retried in the background") || !strings.Contains(note, "BADKEY") {
		t.Fatalf("note = %q", note)
	}
	st := only(t, k, "shop")
	if st.State != dnsrec.StateFailed || !strings.Contains(st.Error, "BADKEY") || st.Retry.IsZero() {
		t.Fatalf("status = %+v, want error with its retry time", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	time.Sleep(150 * time.Millisecond) // backoff 20ms, 40ms, 40ms...: a few retries
	p.mu.Lock()
	retries := len(p.calls) - 1
	p.fail = nil
	p.mu.Unlock()
	if retries < 2 || retries > 8 {
		t.Errorf("%d retries in 150ms with a 20-40ms backoff", retries)
	}
	waitFor(t, func() bool { return only(t, k, "shop").State == dnsrec.StateOK })
	if st := only(t, k, "shop"); !st.Retry.IsZero() || st.Error != "" {
		t.Errorf("status after recovery = %+v", st)
	}
}

func TestKeeperConflictIsReportedAndNotRetried(t *testing.T) {
	p := &fakeProvider{held: map[string]bool{}, fail: &dnsrec.ConflictError{FQDN: "shop.example.com", Reason: "records not created by tinyforge", Existing: []string{"A 198.51.100.9"}}}
	k := newTestKeeper(p)
	note := k.Ensure(context.Background(), "shop", []string{"shop.example.com"})
	if !strings.Contains(note, "record not created") || !strings.Contains(note, "A 198.51.100.9") {
		t.Fatalf("note = %q", note)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	time.Sleep(100 * time.Millisecond)
	cancel()
	wg.Wait()
	if n := p.count("ensure"); n != 1 {
		t.Errorf("%d ensures of a conflicting name within the recheck interval, want 1", n)
	}
	if st := only(t, k, "shop"); st.State != dnsrec.StateConflict || !st.Retry.IsZero() {
		t.Errorf("status = %+v", st)
	}
	// Teardown of a name never ours removes nothing and forgets it.
	k.Teardown(context.Background(), "shop", nil)
	if st := k.Statuses()["shop"]; len(st) != 0 {
		t.Errorf("statuses after teardown = %+v", st)
	}
}

func TestKeeperRechecksAtABoundedRate(t *testing.T) {
	p := &fakeProvider{held: map[string]bool{}}
	k := newTestKeeper(p)
	k.o.Recheck, k.o.Burst, k.o.Tick = 10*time.Millisecond, 2, 50*time.Millisecond
	var want []Name
	for i := range 10 {
		want = append(want, Name{Workload: "w", FQDN: fmt.Sprintf("n%d.example.com", i)})
	}
	k.Learn(want, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	time.Sleep(275 * time.Millisecond) // the first pass, then 5 ticks
	cancel()
	wg.Wait()
	// The Learn wake-up and 5 ticks: at most 7 passes of 2 calls.
	if n := p.count("ensure"); n < 8 || n > 14 {
		t.Errorf("%d provider calls in 275ms at 2 per 50ms tick", n)
	}
}

func TestKeeperRepairsDrift(t *testing.T) {
	p := &fakeProvider{held: map[string]bool{}}
	k := newTestKeeper(p)
	k.o.Recheck = 20 * time.Millisecond
	if note := k.Ensure(context.Background(), "shop", []string{"shop.example.com"}); note != "" {
		t.Fatalf("note = %q", note)
	}
	p.mu.Lock()
	delete(p.held, "shop.example.com") // deleted by hand
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	waitFor(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.held["shop.example.com"]
	})
}

func TestKeeperTeardownRemovesEveryNameOfTheWorkloadAndLearnKeepsThemGone(t *testing.T) {
	p := &fakeProvider{held: map[string]bool{}}
	k := newTestKeeper(p)
	before := time.Now()
	k.Ensure(context.Background(), "shop", []string{"a.example.com", "b.example.com"})
	k.Ensure(context.Background(), "blog", []string{"blog.example.com"})
	k.Teardown(context.Background(), "shop", []string{"a.example.com"})
	if !slices.Equal(p.calls[len(p.calls)-2:], []string{"remove a.example.com", "remove b.example.com"}) &&
		!slices.Equal(p.calls[len(p.calls)-2:], []string{"remove b.example.com", "remove a.example.com"}) {
		t.Errorf("calls = %v, want both names of shop removed", p.calls)
	}
	if len(p.held) != 1 || !p.held["blog.example.com"] {
		t.Errorf("held after teardown = %v", p.held)
	}
	// Drop touches only names the keeper holds.
	calls := len(p.calls)
	k.Drop(context.Background(), "blog", []string{"handmade.example.com"})
	if len(p.calls) != calls {
		t.Errorf("Drop of a name never kept called the provider: %v", p.calls[calls:])
	}
	// A route list read before the teardown must not bring the names back.
	k.Learn([]Name{{"shop", "a.example.com"}, {"shop", "b.example.com"}}, before)
	if st := k.Statuses()["shop"]; len(st) != 0 {
		t.Errorf("statuses after a stale Learn = %+v", st)
	}
}

func TestKeeperLeavesNamesOutsideTheZoneAlone(t *testing.T) {
	p := &fakeProvider{held: map[string]bool{}}
	k := newTestKeeper(p)
	if note := k.Ensure(context.Background(), "shop", []string{"shop.localhost"}); note != "" {
		t.Fatalf("note = %q", note)
	}
	if st := only(t, k, "shop"); st.State != dnsrec.StateOutside || !strings.Contains(st.Error, "not in zone example.com") || len(p.calls) != 0 {
		t.Errorf("status = %+v, calls %v", st, p.calls)
	}
}

func TestKeeperEnsureIsBoundedByItsTimeout(t *testing.T) {
	k := newTestKeeper(blockingProvider{})
	k.o.Timeout = 50 * time.Millisecond
	start := time.Now()
	note := k.Ensure(context.Background(), "shop", []string{"shop.example.com"})
	if took := time.Since(start); took > time.Second || !strings.Contains(note, "deadline exceeded") {
		t.Errorf("Ensure against a server that never answers took %s, note %q", took, note)
	}
}

// blockingProvider never answers before ctx ends.
type blockingProvider struct{ Provider }

func (blockingProvider) Ensure(ctx context.Context, r Record) (Status, error) {
	<-ctx.Done()
	return failed(Status{FQDN: r.FQDN}, "dns ensure", ctx.Err())
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKeeperInWildcardModeCreatesNothing(t *testing.T) {
	k := newTestKeeper(Wildcard{})
	if note := k.Ensure(context.Background(), "shop", []string{"shop.example.com"}); note != "" {
		t.Fatalf("note = %q", note)
	}
	if st := only(t, k, "shop"); st.State != dnsrec.StateWildcard || st.Error != "" {
		t.Errorf("status = %+v", st)
	}
}
