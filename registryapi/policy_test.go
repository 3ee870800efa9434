package registryapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// counting is a server that counts the requests it gets and answers with
// h (nil: 200 and a token).
func counting(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"token":"tok"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestRealmOnAnotherHostIsRefused: a registry's 401 may not send the
// resolver (and the registry's credentials) to a token realm on another
// host, unless the operator listed that host; the refused host gets no
// request at all.
func TestRealmOnAnotherHostIsRefused(t *testing.T) {
	internal, hits := counting(t, nil)
	realm := internal.URL + "/token"
	reg, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok" {
			w.Header().Set("Docker-Content-Digest", fakeDigest)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	image := strings.TrimPrefix(reg.URL, "http://") + "/org/app"
	r := Resolver{Credentials: func(string) (string, string, bool) { return "robot", "registry-password", true }}

	_, err := r.Digest(context.Background(), image, "v1")
	if err == nil || !strings.Contains(err.Error(), "is on another host: refused") || !strings.Contains(err.Error(), "--registry-token-hosts") {
		t.Fatalf("realm on another host: %v, want refused naming --registry-token-hosts", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the realm's host got %d requests", n)
	}

	r.TokenHosts = []string{strings.TrimPrefix(internal.URL, "http://")}
	if got, err := r.Digest(context.Background(), image, "v1"); err != nil || got != fakeDigest {
		t.Fatalf("listed token host: %q, %v", got, err)
	}
}

func TestCheckRealm(t *testing.T) {
	r := Resolver{TokenHosts: []string{"auth.corp.example", "sso.corp.example:8443"}}
	for _, tc := range []struct {
		host, realm string
		ok          bool
	}{
		{"ghcr.io", "https://ghcr.io/token", true},
		{"ghcr.io", "https://GHCR.io:443/token", true},
		{"docker.io", "https://auth.docker.io/token", true},
		{"quay.io", "https://auth.docker.io/token", false},
		{"reg.corp.example", "https://auth.corp.example/token", true},
		{"reg.corp.example", "https://sso.corp.example:8443/t", true},
		{"reg.corp.example", "https://sso.corp.example/t", false},
		{"reg.corp.example:5000", "https://reg.corp.example:5001/token", false},
		{"ghcr.io", "http://ghcr.io/token", false},
		{"ghcr.io", "https://169.254.169.254/latest/meta-data", false},
		{"127.0.0.1:5000", "http://127.0.0.1:5000/token", true},
		{"127.0.0.1:5000", "http://127.0.0.1:6379/", false},
	} {
		u, _ := url.Parse(tc.realm)
		if err := r.checkRealm(tc.host, u); (err == nil) != tc.ok {
			t.Errorf("checkRealm(%s, %s) = %v, want ok=%v", tc.host, tc.realm, err, tc.ok)
		}
	}
}

// TestRedirectToAnotherHostIsRefused: a manifest answer that redirects
// elsewhere is not followed (the request would carry the bearer token).
func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	elsewhere, hits := counting(t, nil)
	reg, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	image := strings.TrimPrefix(reg.URL, "http://") + "/org/app"
	for _, r := range []Resolver{{}, {Client: &http.Client{}}} {
		if _, err := r.Digest(context.Background(), image, "v1"); err == nil || !strings.Contains(err.Error(), "redirect to another host refused") {
			t.Fatalf("redirect to another host: %v", err)
		}
		if _, err := r.Tags(context.Background(), image); err == nil || !strings.Contains(err.Error(), "redirect to another host refused") {
			t.Fatalf("tags, redirect to another host: %v", err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the other host got %d requests", n)
	}
}

// TestAllowRunsFirst: an image the policy refuses gets no request, for a
// digest or a tag list.
func TestAllowRunsFirst(t *testing.T) {
	reg, hits := counting(t, nil)
	image := strings.TrimPrefix(reg.URL, "http://") + "/org/app"
	refused := errors.New("not allowed by --allowed-images")
	r := Resolver{Allow: func(string) error { return refused }}
	if _, err := r.Digest(context.Background(), image, "v1"); !errors.Is(err, refused) {
		t.Fatalf("Digest: %v", err)
	}
	if _, err := r.Tags(context.Background(), image); !errors.Is(err, refused) {
		t.Fatalf("Tags: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the registry got %d requests", n)
	}
}
