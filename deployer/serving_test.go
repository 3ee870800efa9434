package deployer

import (
	"context"
	"reflect"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

func TestServing(t *testing.T) {
	live := Container{ID: "live", Running: true}
	orphan := Container{ID: "orphan", Running: true}
	stopped := Container{ID: "stopped", State: "exited"}
	all := []Container{live, orphan, stopped}
	routes := []Route{{ID: "web-www", Container: "live"}, {ID: "web-api", Container: "live"}}
	tests := []struct {
		name   string
		cs     []Container
		routes []Route
		faced  bool
		want   []Container
	}{
		{"routed container only", all, routes, true, []Container{live}},
		{"no routes recorded: nothing serves", all, nil, true, nil},
		{"route to a stopped container", all, []Route{{Container: "stopped"}}, true, nil},
		{"no faces: every running container", all, nil, false, []Container{live, orphan}},
		{"no containers", nil, routes, true, nil},
	}
	for _, tt := range tests {
		if got := Serving(tt.cs, tt.routes, tt.faced); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
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
