package sidecar

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// TestPrepareResolvesDigests: a request without a digest gets the one the
// real registry serves; a tag the registry lacks fails before anything is
// touched; a digest already serving deploys nothing. Entries reach prepare
// through Quay payloads, which name no digest, from a real registry.
func TestPrepareResolvesDigests(t *testing.T) {
	reg := testsvc.Registry(t, nil)
	v1 := testsvc.UploadImage(t, reg.Host, "acme/worker", "v1")
	w := &labels.Workload{Name: "worker", Image: reg.Ref("acme/worker"),
		Faces: map[string]*labels.Face{"www": {Subdomain: "worker"}}}
	f := newHookFixture(t, w)
	ctx := context.Background()
	log := zerolog.New(f.logs)

	req, ok := f.s.prepare(ctx, log, w, deployer.Request{Workload: "worker", Tag: "v1", Source: "quay"})
	if !ok || req.Digest != v1 {
		t.Fatalf("prepare v1 = %+v, %v; want digest %s", req, ok, v1)
	}

	_, ok = f.s.prepare(ctx, log, w, deployer.Request{Workload: "worker", Tag: "v9", Source: "quay", Delivery: "d9"})
	if ok {
		t.Fatal("a tag the registry lacks went on to deploy")
	}
	h := f.history("worker")
	if len(h) != 1 || !strings.HasPrefix(h[0].Outcome, "failed: resolve "+reg.Host+"/acme/worker:v9: manifest not found") || h[0].Delivery != "d9" {
		t.Fatalf("history %+v", h)
	}

	// v1 serves: a container runs it and the routes point at it.
	f.lister.containers = []deployer.Container{
		{ID: "c1", Running: true, Labels: map[string]string{labels.ManagedDigest: v1}},
		{ID: "orphan", Running: true, Labels: map[string]string{labels.ManagedDigest: "sha256:orphan"}},
	}
	if err := f.s.store.PutRoute(ctx, deployer.Route{ID: "worker-www", Workload: "worker", Container: "c1"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.s.prepare(ctx, log, w, deployer.Request{Workload: "worker", Tag: "v1"}); ok {
		t.Fatal("the serving digest deploys again")
	}
	if h := f.history("worker"); !strings.HasPrefix(h[len(h)-1].Outcome, "duplicate: digest "+v1+" already serves") {
		t.Fatalf("history %+v", h)
	}
	// A running container no route points at (a deploy killed before its
	// switch) does not count as serving.
	if _, ok := f.s.prepare(ctx, log, w, deployer.Request{Workload: "worker", Tag: "v2", Digest: "sha256:orphan"}); !ok {
		t.Fatal("an unrouted orphan's digest was taken as serving")
	}

	// End to end through the webhook: the queued request carries the digest.
	f.consume()
	body := []byte(`{"repository":"acme/worker","docker_url":"` + reg.Ref("acme/worker") + `","updated_tags":["v1"]}`)
	if status, reply, raw := f.post("/v1/hooks/quay/"+testSecret, body, nil); status != 202 || len(reply.Accepted) != 1 {
		t.Fatalf("%d %s", status, raw)
	}
	got := f.waitDeployed(1)
	if got[0].Tag != "v1" || got[0].Source != "quay" {
		t.Fatalf("deployed %+v", got)
	}
}
