package npm_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug/npm"
)

// A host marked for another workload's route is never taken over, even
// when the claimant names the same domain.
func TestForeignMarkedHostIsRefused(t *testing.T) {
	f := newFakeNPM(t)
	ctx := context.Background()
	p := newPlugin(t, f, nil)
	owner := deployer.Route{ID: deployer.RouteID("web", "x-y"), Workload: "web", Face: "x-y", Host: "a.example.com", Upstream: "10.0.0.2:80"}
	must(t, p.Upsert(ctx, owner))
	before := f.host(1)

	thief := deployer.Route{ID: deployer.RouteID("web-x", "y"), Workload: "web-x", Face: "y", Host: "a.example.com", Upstream: "10.0.0.9:80"}
	err := p.Upsert(ctx, thief)
	if !errors.Is(err, npm.ErrNotOurs) || !strings.Contains(err.Error(), "belongs to tinyforge route "+owner.ID+", not "+thief.ID) {
		t.Fatalf("upsert over another route's host = %v, want ErrNotOurs naming both routes", err)
	}
	if h := f.host(1); !reflect.DeepEqual(h, before) {
		t.Errorf("owner's host changed:\n%v\nwas\n%v", h, before)
	}
	must(t, p.Delete(ctx, thief)) // not its host: left alone
	if f.host(1) == nil {
		t.Fatal("the other route's Delete removed the owner's host")
	}
	must(t, verify(t, p, owner))
}

// A host an earlier version marked with the legacy route id is the same
// route's: the upsert under the new id takes it over in place (no second
// host, no gap), and deleting the legacy route afterwards leaves it.
func TestLegacyMarkedHostIsMigratedInPlace(t *testing.T) {
	f := newFakeNPM(t)
	ctx := context.Background()
	p := newPlugin(t, f, nil)
	next := deployer.Route{ID: deployer.RouteID("web", "www"), Workload: "web", Face: "www", Host: "www.example.com", Upstream: "10.0.0.2:80"}
	legacy := next
	legacy.ID = deployer.LegacyRouteID("web", "www")
	must(t, p.Upsert(ctx, legacy))
	must(t, p.Upsert(ctx, next))
	must(t, p.Delete(ctx, legacy))
	h := f.host(1)
	if h == nil || h["meta"].(map[string]any)["tinyforge_route"] != next.ID {
		t.Fatalf("host after migration = %v, want host 1 marked %s", h, next.ID)
	}
	if f.host(2) != nil {
		t.Fatalf("migration created a second host: %v", f.host(2))
	}
	must(t, verify(t, p, next))
}

func TestFaceAccessListWithinOperatorPolicy(t *testing.T) {
	f := newFakeNPM(t)
	ctx := context.Background()
	withACL := func(face, acl string) deployer.Route {
		r := route(face, "10.0.0.2:80")
		r.AccessList = acl
		return r
	}
	aclOf := func(id int) any { return f.host(id)["access_list_id"] }

	// The operator protects every host with list 3 and allows list 5.
	p := newPlugin(t, f, func(o *npm.Options) { o.AccessListID = 3; o.AllowedAccessLists = []int{5} })
	err := p.Upsert(ctx, withACL("open", "0"))
	if err == nil || !strings.Contains(err.Error(), "access list 0 of face open is not allowed: the operator's default is 3") {
		t.Fatalf("face accessList 0 under a default of 3 = %v, want refused", err)
	}
	if err := p.Upsert(ctx, withACL("other", "7")); err == nil || !strings.Contains(err.Error(), "access list 7 of face other is not allowed") {
		t.Fatalf("face accessList 7 = %v, want refused", err)
	}
	if len(f.hosts) != 0 {
		t.Fatalf("refused routes created hosts: %v", f.hosts)
	}
	must(t, p.Upsert(ctx, withACL("www", "5")))
	must(t, p.Upsert(ctx, withACL("api", "")))
	if aclOf(1) != float64(5) || aclOf(2) != float64(3) {
		t.Fatalf("access lists = %v, %v; want 5 (allowed) and 3 (default)", aclOf(1), aclOf(2))
	}

	// Public by default and no list given: a face may only tighten.
	pub := newPlugin(t, f, nil)
	must(t, pub.Upsert(ctx, withACL("tight", "4")))
	if aclOf(3) != float64(4) {
		t.Fatalf("access list = %v, want 4", aclOf(3))
	}
	// 0 is allowed only when the operator lists it.
	open := newPlugin(t, f, func(o *npm.Options) { o.AccessListID = 3; o.AllowedAccessLists = []int{0} })
	must(t, open.Upsert(ctx, withACL("pub", "0")))
	if aclOf(4) != float64(0) {
		t.Fatalf("access list = %v, want 0", aclOf(4))
	}
}
