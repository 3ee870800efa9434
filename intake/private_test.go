package intake

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// TestPrepareAsksAPrivateRegistryWithTheWorkloadsLogin: a registry that
// wants basic auth (in front of a real registry) is asked with the login
// the workload's registry label names, both to resolve a digest the
// trigger did not give and to check a webhook's digest; so a forged
// digest is refused there too, not deployed as the tag.
func TestPrepareAsksAPrivateRegistryWithTheWorkloadsLogin(t *testing.T) {
	reg := testsvc.Registry(t, nil)
	v1 := testsvc.UploadImage(t, reg.Host, "acme/web", "v1")
	other := testsvc.UploadImage(t, reg.Host, "acme/web", "debug")
	target, _ := url.Parse("http://" + reg.Host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="tinyforge-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(private.Close)
	host := strings.TrimPrefix(private.URL, "http://")

	w := &labels.Workload{Name: "web", Image: host + "/acme/web", Registry: "acme"}
	f := newHookFixture(t, w)
	cfg := f.in.cfg
	cfg.Hooks.InsecureRegistries = append(cfg.Hooks.InsecureRegistries, host)
	cfg.Credentials = func(_ context.Context, registry, _, h string) (string, string, bool, error) {
		if registry != "acme" || h != host {
			t.Errorf("login asked for registry %q at %s", registry, h)
			return "", "", false, nil
		}
		return "ci", "s3cret", true, nil
	}
	in := New(cfg, f.store, declared{"web": w}, func(...deployer.Request) error { return nil }, zerolog.New(f.logs))
	ctx, log := context.Background(), zerolog.New(f.logs)

	if req, ok := in.Prepare(ctx, log, w, deployer.Request{Workload: "web", Tag: "v1", Source: SourceQuay}); !ok || req.Digest != v1 {
		t.Fatalf("digest of v1 resolved as %q (%v), want %s", req.Digest, ok, v1)
	}
	if req, ok := in.Prepare(ctx, log, w, deployer.Request{Workload: "web", Tag: "v1", Digest: v1, Source: SourceDistribution}); !ok || req.Digest != v1 {
		t.Fatalf("the tag's own digest: %+v, %v", req, ok)
	}
	if req, ok := in.Prepare(ctx, log, w, deployer.Request{Workload: "web", Tag: "v1", Digest: other, Source: SourceDistribution}); ok {
		t.Fatalf("another digest went on to deploy under tag v1: %+v", req)
	}
}
