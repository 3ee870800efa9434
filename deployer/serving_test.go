package deployer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

func TestServing(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2025, 1, 1, 12, min, 0, 0, time.UTC) }
	live := Container{ID: "live", Name: "web-v1", Running: true, Created: at(1)}
	orphan := Container{ID: "orphan", Name: "web-v2", Running: true, Created: at(2)}
	stopped := Container{ID: "stopped", Name: "web-v3", State: "exited", Created: at(3)}
	older := Container{ID: "older", Name: "web-v0", Running: true, Created: at(0)}
	unhealthy := Container{ID: "unhealthy", Name: "web-v4", Running: true, Health: "unhealthy", Created: at(4)}
	starting := Container{ID: "starting", Name: "web-v5", Running: true, Health: "starting", Created: at(5)}
	sameTimeA := Container{ID: "a", Name: "web-v1-a", Running: true, Created: at(1)}
	sameTimeB := Container{ID: "b", Name: "web-v1-b", Running: true, Created: at(1)}
	toLive := []Route{{ID: "web-www", Container: "live"}, {ID: "web-api", Container: "live"}}
	tests := []struct {
		name   string
		cs     []Container
		routes []Route
		want   string // container id; "" = nothing serves
	}{
		{"routed container, not the newer unrouted one", []Container{live, orphan, stopped}, toLive, "live"},
		{"routed container even when Docker calls it unhealthy", []Container{live, {ID: "sick", Running: true, Health: "unhealthy", Created: at(0)}}, []Route{{Container: "sick"}}, "sick"},
		{"routes point at two running containers: the newer", []Container{older, live}, []Route{{Container: "older"}, {Container: "live"}}, "live"},
		{"no routes: the newest running", []Container{older, live, orphan, stopped}, nil, "orphan"},
		{"routed container stopped: the newest running", []Container{older, live, stopped}, []Route{{Container: "stopped"}}, "live"},
		{"routed container gone: the newest running", []Container{older, live}, []Route{{Container: "gone"}}, "live"},
		{"no routes: unhealthy and starting ones never", []Container{live, unhealthy, starting}, nil, "live"},
		{"no routes, several created at once: the later name", []Container{sameTimeB, sameTimeA}, nil, "b"},
		{"only stopped containers: nothing", []Container{stopped}, toLive, ""},
		{"only unhealthy, unrouted: nothing", []Container{unhealthy}, nil, ""},
		{"no containers: nothing", nil, toLive, ""},
	}
	for _, tt := range tests {
		got, ok := Serving(tt.cs, tt.routes)
		if ok != (tt.want != "") || got.ID != tt.want {
			t.Errorf("%s: got %q (%v), want %q", tt.name, got.ID, ok, tt.want)
		}
		// The store's instance records carry no health: where Docker
		// reports none, ServingInstance must pick the same one.
		ins, healthless := asInstances(tt.cs)
		if !healthless {
			continue
		}
		in, ok := ServingInstance(ins, tt.routes)
		if ok != (tt.want != "") || in.ID != tt.want {
			t.Errorf("%s (instances): got %q (%v), want %q", tt.name, in.ID, ok, tt.want)
		}
	}
}

// asInstances records cs as the store would (state from Docker's), and
// reports whether none of them has a health status.
func asInstances(cs []Container) ([]Instance, bool) {
	var ins []Instance
	for _, c := range cs {
		if c.Health != "" {
			return nil, false
		}
		ins = append(ins, Instance{ID: c.ID, Name: c.Name, State: instanceState(c), Created: c.Created})
	}
	return ins, true
}

func TestHasFaces(t *testing.T) {
	for _, tt := range []struct {
		faces map[string]*labels.Face
		want  bool
	}{
		{nil, false},
		{map[string]*labels.Face{"off": {}}, false},
		{map[string]*labels.Face{"off": {}, "www": {Subdomain: "www"}}, true},
		{map[string]*labels.Face{"apex": {Domain: "example.com"}}, true},
	} {
		if got := HasFaces(&labels.Workload{Faces: tt.faces}); got != tt.want {
			t.Errorf("HasFaces(%v) = %v", tt.faces, got)
		}
	}
}

// TestDeployOverAnOrphanIsNotANoop: a sidecar killed mid-deploy leaves a
// running, unrouted container of the new image. The redeploy after the
// restart must still switch traffic to that image.
func TestDeployOverAnOrphanIsNotANoop(t *testing.T) {
	f := newFixture(t)
	f.docker.digests["reg.local/web:v1"] = "sha256:aaa"
	f.docker.digests["reg.local/web:v2"] = "sha256:bbb"
	f.mustDeploy(t, "v1")
	ctx := context.Background()
	orphan, _ := f.docker.Create(ctx, ContainerSpec{Name: "orphan", Image: "reg.local/web:v2", Labels: map[string]string{
		labels.Managed: "true", labels.ManagedWorkload: "web", labels.ManagedImage: "reg.local/web:v2", labels.ManagedDigest: "sha256:bbb",
	}})
	_ = f.docker.Start(ctx, orphan)

	res, err := f.engine.Deploy(ctx, f.w, Request{Workload: "web", Tag: "v2", Digest: "sha256:bbb"})
	if err != nil || res.Noop {
		t.Fatalf("deploy over an orphan = %+v, %v; want a real deploy", res, err)
	}
	for host, r := range f.proxy.routes {
		if r.Container != res.Container {
			t.Errorf("route %s points at %s, want the new container %s", host, r.Container, res.Container)
		}
	}
	// Now v2 serves: the same request again is a no-op.
	again, err := f.engine.Deploy(ctx, f.w, Request{Workload: "web", Tag: "v2", Digest: "sha256:bbb"})
	if err != nil || !again.Noop || again.Container != res.Container {
		t.Fatalf("repeat = %+v, %v; want a no-op on %s", again, err, res.Container)
	}
}

// TestDeployAfterTheRoutesWereLostReroutesTheRunningImage: the store lost
// the routes, and a redelivery asks for the digest that still runs. The
// running container serves (Serving's fallback), so no new container is
// made; the routes are rebuilt on it, but only once it answers its health
// path.
func TestDeployAfterTheRoutesWereLostReroutesTheRunningImage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := Request{Workload: "web", Tag: "v1", Digest: "sha256:aaa"}
	first, err := f.engine.Deploy(ctx, f.w, req)
	if err != nil {
		t.Fatal(err)
	}
	lose := func() {
		f.store.mu.Lock()
		f.store.routes = map[string]Route{}
		f.store.mu.Unlock()
		f.proxy.routes = map[string]Route{}
	}

	lose()
	f.health = func(context.Context, string) error { return ErrUnhealthy }
	if res, err := f.engine.Deploy(ctx, f.w, req); !errors.Is(err, ErrUnhealthy) || res.Rerouted || len(f.proxy.routes) != 0 {
		t.Fatalf("re-route onto an unhealthy container = %+v, %v, proxy %v; want refused", res, err, f.proxy.routes)
	}

	f.health = func(context.Context, string) error { return nil }
	res, err := f.engine.Deploy(ctx, f.w, req)
	if err != nil || !res.Noop || !res.Rerouted || res.Container != first.Container {
		t.Fatalf("redelivery after the routes were lost = %+v, %v; want a re-route of %s", res, err, first.Container)
	}
	if got := f.routedContainers(); len(got) != 1 || !got[first.Container] || len(f.proxy.routes) != 2 {
		t.Fatalf("routes on %v (proxy %v), want both faces on %s", got, f.proxy.routes, first.Container)
	}
	if len(f.docker.containers) != 1 {
		t.Fatalf("%d containers, want the one that ran already", len(f.docker.containers))
	}
}
