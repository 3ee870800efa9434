package intake

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
// touched (whether a digest already serves is the deployer's decision,
// tested there). Entries reach prepare
// through Quay payloads, which name no digest, from a real registry.
func TestPrepareResolvesDigests(t *testing.T) {
	reg := testsvc.Registry(t, nil)
	v1 := testsvc.UploadImage(t, reg.Host, "acme/worker", "v1")
	w := &labels.Workload{Name: "worker", Image: reg.Ref("acme/worker"),
		Faces: map[string]*labels.Face{"www": {Subdomain: "worker"}}}
	f := newHookFixture(t, w)
	ctx := context.Background()
	log := zerolog.New(f.logs)

	req, ok := f.in.Prepare(ctx, log, w, deployer.Request{Workload: "worker", Tag: "v1", Source: "quay"})
	if !ok || req.Digest != v1 {
		t.Fatalf("prepare v1 = %+v, %v; want digest %s", req, ok, v1)
	}

	_, ok = f.in.Prepare(ctx, log, w, deployer.Request{Workload: "worker", Tag: "v9", Source: "quay", Delivery: "d9"})
	if ok {
		t.Fatal("a tag the registry lacks went on to deploy")
	}
	h := f.history("worker")
	if len(h) != 1 || !strings.HasPrefix(h[0].Outcome, "failed: resolve "+reg.Host+"/acme/worker:v9: manifest not found") || h[0].Delivery != "d9" {
		t.Fatalf("history %+v", h)
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
