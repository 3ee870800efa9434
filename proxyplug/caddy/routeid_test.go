package caddy_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
)

// routeOf is the route the deployer computes for the only face of w,
// pointing at upstream.
func routeOf(t *testing.T, w *labels.Workload, upstream string) deployer.Route {
	t.Helper()
	rs := deployer.RoutesFor(w, deployer.Instance{Name: "c", Address: "127.0.0.1"}, "example.com", false, "")
	if len(rs) != 1 {
		t.Fatalf("routes of %s = %v, want one", w.Name, rs)
	}
	rs[0].Upstream = upstream
	return rs[0]
}

// Workload web with face x-y and workload web-x with face y had the same
// route id (tf-web-x-y), so the second Upsert replaced the first's route
// in Caddy. Both must now be served at once, each on its own host.
func TestLookalikeWorkloadsKeepTheirOwnRoutes(t *testing.T) {
	cs, p := newPlugin(t)
	ctx := context.Background()
	a := routeOf(t, &labels.Workload{Name: "web", Port: 80, Faces: map[string]*labels.Face{"x-y": {Domain: "a.example.com"}}}, backend(t, "web"))
	b := routeOf(t, &labels.Workload{Name: "web-x", Port: 80, Faces: map[string]*labels.Face{"y": {Domain: "b.example.com"}}}, backend(t, "web-x"))
	if a.ID == b.ID {
		t.Fatalf("both workloads got route id %q", a.ID)
	}
	for _, r := range []deployer.Route{a, b} {
		if err := p.Upsert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := through(t, cs.HTTPAddr, "a.example.com"); code != 200 || body != "web" {
		t.Errorf("a.example.com: %d %q, want 200 from web", code, body)
	}
	if code, body := through(t, cs.HTTPAddr, "b.example.com"); code != 200 || body != "web-x" {
		t.Errorf("b.example.com: %d %q, want 200 from web-x", code, body)
	}
	if n := len(serverRoutes(t, cs, "tinyforge")); n != 2 {
		t.Errorf("Caddy holds %d routes, want 2", n)
	}
}

// A route Caddy holds under its legacy id is migrated the way the deployer
// does it (new id added, then the legacy one deleted) while requests flow:
// not one request goes unrouted, and the new id serves afterwards.
func TestLegacyRouteMigratesWithoutGap(t *testing.T) {
	cs, p := newPlugin(t)
	ctx := context.Background()
	next := routeOf(t, &labels.Workload{Name: "web", Port: 80, Faces: map[string]*labels.Face{"www": {Domain: "www.example.com"}}}, backend(t, "web"))
	legacy := next
	legacy.ID = deployer.LegacyRouteID("web", "www")
	if err := p.Upsert(ctx, legacy); err != nil {
		t.Fatal(err)
	}

	var bad atomic.Int64
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			select {
			case <-stop:
				return
			default:
			}
			if code, body := through(t, cs.HTTPAddr, "www.example.com"); code != 200 || body != "web" {
				bad.Add(1)
			}
			sent.Add(1)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if err := p.Upsert(ctx, next); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := p.Delete(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if bad.Load() != 0 || sent.Load() == 0 {
		t.Fatalf("%d of %d requests were not served during the migration", bad.Load(), sent.Load())
	}
	ids, err := p.Routes(ctx)
	if err != nil || len(ids) != 1 || ids[0] != next.ID {
		t.Fatalf("routes after migration = %v (%v), want only %s", ids, err, next.ID)
	}
}
