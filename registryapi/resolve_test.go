package registryapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestDigestRealRegistry resolves tags against a real docker-registry
// (distribution 2.8): an image manifest, an index over two of them, and
// tags and repositories that do not exist.
func TestDigestRealRegistry(t *testing.T) {
	reg := testsvc.Registry(t, nil)
	ctx := context.Background()
	v1 := testsvc.UploadImage(t, reg.Host, "team/web", "v1")
	v2 := testsvc.UploadImage(t, reg.Host, "team/web", "v2")
	multi := testsvc.UploadIndex(t, reg.Host, "team/web", "multi", v1, v2)
	if v1 == v2 {
		t.Fatal("two tags uploaded with one digest: the test would prove nothing")
	}
	var r Resolver
	for tag, want := range map[string]string{"v1": v1, "v2": v2, "multi": multi} {
		got, err := r.Digest(ctx, reg.Ref("team/web"), tag)
		if err != nil || got != want {
			t.Errorf("Digest(%s) = %q, %v; want %s", tag, got, err, want)
		}
	}
	for _, tc := range []struct{ image, tag string }{
		{reg.Ref("team/web"), "v9"},
		{reg.Ref("team/nope"), "v1"},
	} {
		_, err := r.Digest(ctx, tc.image, tc.tag)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Digest(%s:%s) error %v, want ErrNotFound", tc.image, tc.tag, err)
		}
		if err != nil && !strings.Contains(err.Error(), tc.image+":"+tc.tag) {
			t.Errorf("error %q does not name %s:%s", err, tc.image, tc.tag)
		}
	}
}

func TestDigestRefusesBadReferences(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	var r Resolver
	for _, tc := range []struct{ image, tag string }{
		{host + "/app", "../../v2/other/manifests/x"},
		{host + "/app", "v1?x=y"},
		{host + "/app", ""},
		{"UPPER/case", "v1"},
		{"a b", "v1"},
	} {
		if _, err := r.Digest(context.Background(), tc.image, tc.tag); err == nil {
			t.Errorf("Digest(%q, %q) accepted", tc.image, tc.tag)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d requests sent for invalid references", n)
	}
}

// fakeTokenRegistry is a registry that wants a bearer token from its own
// token endpoint, like Docker Hub and GHCR do even for anonymous pulls.
type fakeTokenRegistry struct {
	srv       *httptest.Server
	basicUser string // required on the token request when set
	omitHead  bool   // HEAD answers without Docker-Content-Digest
	scopes    atomic.Value
}

const fakeDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func newFakeTokenRegistry(t *testing.T) *fakeTokenRegistry {
	f := &fakeTokenRegistry{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			if u, _, ok := r.BasicAuth(); f.basicUser != "" && (!ok || u != f.basicUser) {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			f.scopes.Store(r.URL.Query().Get("service") + " " + r.URL.Query().Get("scope"))
			_, _ = w.Write([]byte(`{"access_token":"tok-123"}`))
		case r.Header.Get("Authorization") != "Bearer tok-123":
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+f.srv.URL+`/token",service="fake.registry",scope="repository:org/app:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/v2/org/app/manifests/v1":
			if !strings.Contains(r.Header.Get("Accept"), "application/vnd.oci.image.index.v1+json") {
				t.Errorf("Accept %q lacks the OCI index type", r.Header.Get("Accept"))
			}
			if r.Method == http.MethodHead && f.omitHead {
				return
			}
			w.Header().Set("Docker-Content-Digest", fakeDigest)
			if r.Method == http.MethodGet {
				w.Header().Del("Docker-Content-Digest")
				_, _ = w.Write([]byte(`{"schemaVersion":2}`))
			}
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTokenRegistry) image() string {
	return strings.TrimPrefix(f.srv.URL, "http://") + "/org/app"
}

func TestDigestTokenDance(t *testing.T) {
	ctx := context.Background()
	f := newFakeTokenRegistry(t)
	var r Resolver
	got, err := r.Digest(ctx, f.image(), "v1")
	if err != nil || got != fakeDigest {
		t.Fatalf("anonymous token: %q, %v", got, err)
	}
	if s, _ := f.scopes.Load().(string); s != "fake.registry repository:org/app:pull" {
		t.Errorf("token request service and scope = %q", s)
	}
	if _, err := r.Digest(ctx, f.image(), "v2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tag behind a token: %v, want ErrNotFound", err)
	}

	f.basicUser = "ci"
	if _, err := r.Digest(ctx, f.image(), "v1"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("token endpoint refusing anonymous: %v, want the 401 reported", err)
	}
	r.Credentials = func(host string) (string, string, bool) { return "ci", "pw", true }
	if got, err := r.Digest(ctx, f.image(), "v1"); err != nil || got != fakeDigest {
		t.Errorf("with credentials: %q, %v", got, err)
	}

	// A registry whose HEAD omits the digest: the manifest is fetched and hashed.
	f.omitHead = true
	got, err = r.Digest(ctx, f.image(), "v1")
	sum := sha256.Sum256([]byte(`{"schemaVersion":2}`))
	if want := "sha256:" + hex.EncodeToString(sum[:]); err != nil || got != want {
		t.Errorf("digest of the GET body: %q, %v; want %s", got, err, want)
	}
}

func TestParseChallenge(t *testing.T) {
	scheme, p := parseChallenge(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push"`)
	if scheme != "Bearer" || p["realm"] != "https://auth.docker.io/token" || p["service"] != "registry.docker.io" ||
		p["scope"] != "repository:library/nginx:pull,push" {
		t.Errorf("got %q %v", scheme, p)
	}
	scheme, p = parseChallenge(`Basic realm="Registry Realm"`)
	if scheme != "Basic" || p["realm"] != "Registry Realm" {
		t.Errorf("got %q %v", scheme, p)
	}
	scheme, p = parseChallenge(`Bearer realm=https://h/t, service=x`)
	if scheme != "Bearer" || p["realm"] != "https://h/t" || p["service"] != "x" {
		t.Errorf("unquoted: got %q %v", scheme, p)
	}
	_, p = parseChallenge(`Bearer realm="a\"b", error="insufficient_scope"`)
	if p["realm"] != `a"b` || p["error"] != "insufficient_scope" {
		t.Errorf("escaped: %v", p)
	}
	if _, p := parseChallenge(`Bearer realm="unterminated`); p["realm"] != "unterminated" {
		t.Errorf("unterminated: %v", p)
	}
}

func TestInsecure(t *testing.T) {
	r := Resolver{Insecure: []string{"reg.lan:5000"}}
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "localhost:5000": true, "localhost": true, "[::1]:5000": true,
		"reg.lan:5000": true, "reg.lan": false, "ghcr.io": false, "10.0.0.1:5000": false,
	} {
		if got := r.insecure(host); got != want {
			t.Errorf("insecure(%q) = %v", host, got)
		}
	}
}

// methodCounter counts the requests by method that reach a registry.
type methodCounter struct{ head, get atomic.Int32 }

func (c *methodCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodHead:
		c.head.Add(1)
	case http.MethodGet:
		c.get.Add(1)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestDigestSeesARepush is what a poller relies on: against the real
// registry, a tag pushed again with other content resolves to the new
// digest, an unchanged tag to the same one, each by one HEAD and no GET.
func TestDigestSeesARepush(t *testing.T) {
	reg := testsvc.Registry(t, nil)
	ctx := context.Background()
	first := testsvc.UploadImage(t, reg.Host, "team/app", "stable")
	other := testsvc.UploadImage(t, reg.Host, "team/app", "other")
	count := &methodCounter{}
	r := Resolver{Client: &http.Client{Transport: count}}

	for range 2 {
		if got, err := r.Digest(ctx, reg.Ref("team/app"), "stable"); err != nil || got != first {
			t.Fatalf("Digest before the push = %q, %v; want %s", got, err, first)
		}
	}
	second := testsvc.UploadIndex(t, reg.Host, "team/app", "stable", other)
	if got, err := r.Digest(ctx, reg.Ref("team/app"), "stable"); err != nil || got != second || got == first {
		t.Fatalf("Digest after the push = %q, %v; want %s", got, err, second)
	}
	if h, g := count.head.Load(), count.get.Load(); h != 3 || g != 0 {
		t.Errorf("%d HEAD and %d GET requests for 3 lookups, want 3 HEAD and no GET", h, g)
	}
}

// TestDigestThroughAnEndpoint: an image named after a host the sidecar
// cannot reach (the engine's 127.0.0.1:5000 in the compose stack) is
// resolved at the registry's Endpoints URL, and errors still name the
// image as written.
func TestDigestThroughAnEndpoint(t *testing.T) {
	reg := testsvc.Registry(t, nil)
	v1 := testsvc.UploadImage(t, reg.Host, "team/web", "v1")
	image := "registry.invalid:5000/team/web"
	r := Resolver{Endpoints: map[string]string{"registry.invalid:5000": "http://" + reg.Host + "/"}}
	if got, err := r.Digest(context.Background(), image, "v1"); err != nil || got != v1 {
		t.Fatalf("Digest through the endpoint = %q, %v; want %s", got, err, v1)
	}
	if _, err := r.Digest(context.Background(), image, "v9"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), image+":v9") {
		t.Errorf("missing tag through the endpoint: %v, want ErrNotFound naming %s:v9", err, image)
	}
	var direct Resolver
	if _, err := direct.Digest(context.Background(), image, "v1"); err == nil {
		t.Fatal("without the endpoint the unreachable host resolved: the test would prove nothing")
	}
}
