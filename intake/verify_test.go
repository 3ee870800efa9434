package intake

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/policy"
)

// TestPrepareVerifiesWebhookDigest: against a real registry, a webhook's
// digest deploys only when it is what the tag points at. A token holder
// naming another digest of the repository under an allowed tag deploys
// nothing, and the reason is recorded; a rollback's recorded digest is
// not second-guessed; a registry that cannot be asked leaves the tag to
// the pull.
func TestPrepareVerifiesWebhookDigest(t *testing.T) {
	reg := testsvc.Registry(t, nil)
	v1 := testsvc.UploadImage(t, reg.Host, "acme/web", "v1")
	other := testsvc.UploadImage(t, reg.Host, "acme/web", "debug")
	w := &labels.Workload{Name: "web", Image: reg.Ref("acme/web")}
	f := newHookFixture(t, w)
	ctx := context.Background()
	log := zerolog.New(f.logs)

	req, ok := f.in.Prepare(ctx, log, w, deployer.Request{Workload: "web", Tag: "v1", Digest: v1, Source: SourceDistribution})
	if !ok || req.Digest != v1 {
		t.Fatalf("the tag's own digest: %+v, %v", req, ok)
	}
	if _, ok := f.in.Prepare(ctx, log, w, deployer.Request{Workload: "web", Tag: "v1", Digest: other, Source: SourceDistribution, Delivery: "forged"}); ok {
		t.Fatal("another digest of the repository went on to deploy under tag v1")
	}
	h := f.history("web")
	want := fmt.Sprintf("ignored: digest %s of the delivery is not what tag v1 points at in the registry (%s)", other, v1)
	if len(h) != 1 || h[0].Outcome != want || h[0].Delivery != "forged" {
		t.Fatalf("history %+v\nwant outcome %q", h, want)
	}

	start := time.Now()
	if _, ok := f.in.Prepare(ctx, log, w, deployer.Request{Workload: "web", Tag: "nope", Digest: v1, Source: SourceHarbor}); ok {
		t.Fatal("a digest under a tag the registry lacks went on to deploy")
	}
	if h := f.history("web"); !strings.HasSuffix(h[len(h)-1].Outcome, "which has no such tag") {
		t.Fatalf("history %+v", h)
	} else if took := time.Since(start); took < time.Second {
		t.Errorf("gave up after %s: the registry gets time to link the tag", took)
	}

	if req, ok := f.in.Prepare(ctx, log, w, deployer.Request{Workload: "web", Tag: "v1", Digest: other, Source: "rollback"}); !ok || req.Digest != other {
		t.Fatalf("rollback to a recorded digest: %+v, %v", req, ok)
	}

	gone := &labels.Workload{Name: "gone", Image: fmt.Sprintf("127.0.0.1:%d/acme/web", testsvc.FreePort(t))}
	if req, ok := f.in.Prepare(ctx, log, gone, deployer.Request{Workload: "gone", Tag: "v1", Digest: other, Source: SourceGitHub}); !ok || req.Digest != "" {
		t.Fatalf("registry unreachable: %+v, %v; want the tag, without the webhook's digest", req, ok)
	}
}

// TestPreparePolicyBeforeContact: for an image outside --allowed-images,
// Prepare sends no request at all to its registry, with or without a
// webhook digest (the deployer refuses the image before the pull and
// records it: TestNoSecretEscapes' pushOutsider).
func TestPreparePolicyBeforeContact(t *testing.T) {
	var hits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(internal.Close)
	image := strings.TrimPrefix(internal.URL, "http://") + "/acme/web"
	w := &labels.Workload{Name: "web", Image: image}
	f := newHookFixture(t, w)
	im, err := policy.ParseImages([]string{"ghcr.io/acme"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.in.cfg
	cfg.Images = im
	in := New(cfg, f.store, declared{"web": w}, func(...deployer.Request) error { return nil }, zerolog.New(f.logs))
	for _, req := range []deployer.Request{
		{Workload: "web", Tag: "v1", Source: SourceQuay},
		{Workload: "web", Tag: "v1", Digest: "sha256:" + strings.Repeat("a", 64), Source: SourceDistribution},
	} {
		if got, _ := in.Prepare(context.Background(), zerolog.New(f.logs), w, req); !reflect.DeepEqual(got, req) {
			t.Fatalf("prepare changed %+v into %+v", req, got)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the registry of an image outside --allowed-images got %d requests", n)
	}
	// The same intake still resolves what the policy allows.
	allowed := &labels.Workload{Name: "ok", Image: "ghcr.io/acme/web"}
	in.resolver.Client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hits.Add(1)
		return nil, fmt.Errorf("offline")
	})}
	in.Prepare(context.Background(), zerolog.New(f.logs), allowed, deployer.Request{Workload: "ok", Tag: "v1", Source: SourceQuay})
	if hits.Load() == 0 {
		t.Fatal("an allowed image was not resolved: the test would prove nothing")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSignedBodyReplayIsDuplicate: a captured GitHub or Gitea delivery
// replayed with a new delivery header is the same push (its signed bytes
// did not change) and queues nothing more; another body is a new push.
func TestSignedBodyReplayIsDuplicate(t *testing.T) {
	f := newHookFixture(t, contentWorkloads()...)
	gh := sample(t, "github-package-published.json")
	gitea := sample(t, "gitea-package-created.json")
	for _, tc := range []struct {
		name           string
		first, replay  registryDelivery
		another        registryDelivery
		workloadAndTag string
	}{
		{"github", githubDelivery(gh, false, testSecret, "d-1"), githubDelivery(gh, false, testSecret, "d-2"),
			githubDelivery([]byte(strings.Replace(string(gh), "16:40:07Z", "16:40:08Z", 1)), false, testSecret, "d-3"), "hello:v1.4.2"},
		{"gitea, replayed form-encoded", giteaDelivery(gitea, false, false, testSecret, "g-1"), giteaDelivery(gitea, true, false, testSecret, "g-2"),
			giteaDelivery([]byte(strings.Replace(string(gitea), "08:31:55Z", "08:31:56Z", 1)), false, false, testSecret, "g-3"), "web:v2.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, d := range []registryDelivery{tc.first, tc.replay, tc.another} {
				status, reply, raw := f.post(d.path, d.body, d.headers)
				if status != http.StatusAccepted {
					t.Fatalf("delivery %d: %d %s", i, status, raw)
				}
				wantDup := i == 1
				if got := len(reply.Duplicate) == 1 && reply.Duplicate[0] == tc.workloadAndTag; got != wantDup {
					t.Fatalf("delivery %d: reply %s, want duplicate=%v", i, raw, wantDup)
				}
			}
		})
	}
}
