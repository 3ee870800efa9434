package deployer

import (
	"context"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

func TestRouteIDIsInjective(t *testing.T) {
	pairs := [][2]string{
		{"web", "x-y"}, {"web-x", "y"}, // the collision of the legacy ids
		{"web", "x_y"}, {"web", "x.y"}, {"web", "X-y"}, {"web", ""}, {"web_", "x"}, {"web", "_x"},
		{"a", "_5f"}, {"a_", "5f"}, {"a__b", "c"}, {"a", "_b__c"}, {"3-web", "x-y"},
	}
	seen := map[string][2]string{}
	charset := regexp.MustCompile(`^tf_[a-z0-9_-]*$`)
	for _, p := range pairs {
		id := RouteID(p[0], p[1])
		if prev, dup := seen[id]; dup {
			t.Errorf("RouteID(%q, %q) = RouteID(%q, %q) = %q", p[0], p[1], prev[0], prev[1], id)
		}
		seen[id] = p
		if !charset.MatchString(id) {
			t.Errorf("RouteID(%q, %q) = %q: characters outside a-z 0-9 _ -", p[0], p[1], id)
		}
	}
	if a, b := LegacyRouteID("web", "x-y"), LegacyRouteID("web-x", "y"); a != b {
		t.Fatalf("legacy ids %q and %q should collide (the bug this replaces)", a, b)
	}
	// Random pairs over a small alphabet that makes separators likely.
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		const alpha = "ab-_.5fX"
		b := make([]byte, rng.IntN(5))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	ids := map[string][2]string{}
	for range 20000 {
		p := [2]string{word(), word()}
		id := RouteID(p[0], p[1])
		if prev, dup := ids[id]; dup && prev != p {
			t.Fatalf("RouteID(%q, %q) = RouteID(%q, %q) = %q", p[0], p[1], prev[0], prev[1], id)
		}
		ids[id] = p
		if LegacyRouteID(p[0], p[1]) == id {
			t.Fatalf("new id %q equals a legacy id", id)
		}
	}
}

// opProxy records the order of proxy operations.
type opProxy struct {
	*fakeProxy
	ops []string
}

func (p *opProxy) Upsert(ctx context.Context, r Route) error {
	p.ops = append(p.ops, "upsert "+r.ID)
	return p.fakeProxy.Upsert(ctx, r)
}

func (p *opProxy) Delete(ctx context.Context, r Route) error {
	p.ops = append(p.ops, "delete "+r.ID)
	return p.fakeProxy.Delete(ctx, r)
}

// legacize rewrites the fixture's stored and proxied routes under the ids
// an earlier version gave them, as an upgrade finds them.
func legacize(t *testing.T, f *fixture) {
	t.Helper()
	for id, r := range f.store.routes {
		delete(f.store.routes, id)
		delete(f.proxy.routes, id)
		r.ID = LegacyRouteID(r.Workload, r.Face)
		f.store.routes[r.ID] = r
		f.proxy.routes[r.ID] = r
	}
}

// checkMigrated asserts the proxy and the store hold only new ids, and
// that each new id was added before its legacy id was removed.
func checkMigrated(t *testing.T, f *fixture, ops []string) {
	t.Helper()
	for _, face := range []string{"www", "api"} {
		newID, oldID := RouteID("web", face), LegacyRouteID("web", face)
		if _, ok := f.proxy.routes[newID]; !ok {
			t.Errorf("proxy lacks %s: %v", newID, f.proxy.routes)
		}
		if _, ok := f.proxy.routes[oldID]; ok {
			t.Errorf("proxy still holds legacy %s", oldID)
		}
		if _, ok := f.store.routes[newID]; !ok {
			t.Errorf("store lacks %s", newID)
		}
		if _, ok := f.store.routes[oldID]; ok {
			t.Errorf("store still holds legacy %s", oldID)
		}
		add, del := slices.Index(ops, "upsert "+newID), slices.Index(ops, "delete "+oldID)
		if add < 0 || del < 0 || add > del {
			t.Errorf("ops %v: want upsert %s before delete %s", ops, newID, oldID)
		}
	}
}

func TestSwitchMigratesLegacyRouteIDsWithoutGap(t *testing.T) {
	f := newFixture(t)
	op := &opProxy{fakeProxy: f.proxy}
	f.mustDeploy(t, "v1")
	legacize(t, f)
	f.engine.Proxy = op
	v2 := f.mustDeploy(t, "v2")
	checkMigrated(t, f, op.ops)
	ip := f.docker.containers[v2.Container].IPs["net"]
	if got := f.upstreams(); got["www.example.com"] != ip+":8080" || got["api.example.com"] != ip+":9090" {
		t.Fatalf("routes after migrating switch = %v, want both on %s", got, ip)
	}
}

func TestSyncMigratesLegacyRouteIDs(t *testing.T) {
	f := newFixture(t)
	f.mustDeploy(t, "v1")
	before := f.upstreams()
	legacize(t, f)
	op := &opProxy{fakeProxy: f.proxy}
	f.engine.Proxy = op
	if _, err := f.engine.Sync(context.Background(), map[string]*labels.Workload{"web": f.w}); err != nil {
		t.Fatalf("sync: %v", err)
	}
	checkMigrated(t, f, op.ops)
	if got := f.upstreams(); !equalMaps(got, before) {
		t.Fatalf("upstreams after migration = %v, want unchanged %v", got, before)
	}
	// A second pass has nothing left to migrate.
	op.ops = nil
	if _, err := f.engine.Sync(context.Background(), map[string]*labels.Workload{"web": f.w}); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	if len(op.ops) != 0 {
		t.Fatalf("second pass touched the proxy: %v", op.ops)
	}
}
