package caddy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/proxyplug/caddy"
)

// tlsPlugin is a plugin whose TLS routes get certificates from Caddy's
// internal CA, with its HTTPS server on tlsAddr.
func tlsPlugin(t *testing.T, hooks *caddy.Hooks) (cs *testsvc.CaddyServer, p *caddy.Plugin, tlsAddr string) {
	t.Helper()
	cs = testsvc.Caddy(t)
	tlsAddr = fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))
	p = caddy.New(caddy.Options{
		AdminURL: cs.AdminURL, Listen: []string{cs.HTTPAddr},
		TLSListen: []string{tlsAddr}, TLSIssuer: caddy.IssuerInternal, Hooks: hooks,
	})
	return cs, p, tlsAddr
}

// rootCA reads the root of Caddy's internal CA from the admin API.
func rootCA(t *testing.T, cs *testsvc.CaddyServer) *x509.CertPool {
	t.Helper()
	resp, err := http.Get(cs.AdminURL + "/pki/ca/local")
	if err != nil {
		t.Fatalf("read internal CA: %v", err)
	}
	defer resp.Body.Close()
	var ca struct {
		Root string `json:"root_certificate"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ca); err != nil || ca.Root == "" {
		t.Fatalf("decode internal CA: %v (%s)", err, resp.Status)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(ca.Root)) {
		t.Fatal("internal CA root is not PEM")
	}
	return pool
}

// httpsGet sends GET path for host to addr over TLS, trusting roots only,
// retrying for a few seconds while Caddy obtains the certificate.
func httpsGet(t *testing.T, addr, host, path string, roots *x509.CertPool) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: host},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var resp *http.Response
		resp, err = client.Get("https://" + host + path)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("GET https://%s%s: %s", host, path, resp.Status)
		return resp.StatusCode, string(b)
	}
	t.Fatalf("GET https://%s%s via %s: %v", host, path, addr, err)
	return 0, ""
}

// TestRedirectNamesThePublishedHTTPSPort: with the HTTPS server published
// on another port than 443, the redirect from plain HTTP names that port.
func TestRedirectNamesThePublishedHTTPSPort(t *testing.T) {
	cs := testsvc.Caddy(t)
	p := caddy.New(caddy.Options{
		AdminURL: cs.AdminURL, Listen: []string{cs.HTTPAddr}, HTTPSPort: 8443,
		TLSListen: []string{fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))}, TLSIssuer: caddy.IssuerInternal,
	})
	r := route("www", backend(t, "blue"))
	r.TLS = true
	if err := p.Upsert(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, cs, r.Host, "https://www.example.com:8443/a?b=c")
}

// wantRedirect asks Caddy's plain server for host's /a?b=c and wants a
// permanent redirect to location.
func wantRedirect(t *testing.T, cs *testsvc.CaddyServer, host, location string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+cs.HTTPAddr+"/a?b=c", nil)
	req.Host = host
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusPermanentRedirect || loc != location {
		t.Errorf("http: %s Location %q, want 308 to %s", resp.Status, loc, location)
	}
}

func TestTLSFaceServedOverHTTPSWithRedirect(t *testing.T) {
	cs, p, tlsAddr := tlsPlugin(t, nil)
	ctx := context.Background()
	blue, green := backend(t, "blue"), backend(t, "green")
	r := route("www", blue)
	r.TLS = true
	if err := p.Upsert(ctx, r); err != nil {
		t.Fatal(err)
	}
	roots := rootCA(t, cs)
	if code, body := httpsGet(t, tlsAddr, r.Host, "/", roots); code != 200 || body != "blue" {
		t.Fatalf("https before switch: %d %q, want 200 blue", code, body)
	}
	// Plain HTTP redirects to the same URL over HTTPS.
	wantRedirect(t, cs, r.Host, "https://www.example.com/a?b=c")

	r.Upstream = green
	if err := p.Upsert(ctx, r); err != nil {
		t.Fatal(err)
	}
	if code, body := httpsGet(t, tlsAddr, r.Host, "/", roots); code != 200 || body != "green" {
		t.Fatalf("https after switch: %d %q, want 200 green", code, body)
	}
	if ids, err := p.Routes(ctx); err != nil || !reflect.DeepEqual(ids, []string{"tf-web-www"}) {
		t.Fatalf("Routes = %v, %v; want [tf-web-www] once for the pair", ids, err)
	}
	tlsRoutes := serverRoutes(t, cs, "tinyforge-tls")
	if len(tlsRoutes) != 1 || tlsRoutes[0]["@id"] != "tf-web-www.tls" {
		t.Errorf("HTTPS server routes = %v, want one tf-web-www.tls", tlsRoutes)
	}
	pol := dig(config(t, cs), "apps", "tls", "automation", "policies")
	if got := fmt.Sprint(pol); !strings.Contains(got, "www.example.com") || !strings.Contains(got, "internal") {
		t.Errorf("tls policies = %s, want the host issued by the internal CA", got)
	}

	// The face loses TLS: one plain route, the HTTPS pair gone.
	r.TLS = false
	if err := p.Upsert(ctx, r); err != nil {
		t.Fatal(err)
	}
	if code, body := through(t, cs.HTTPAddr, r.Host); code != 200 || body != "green" {
		t.Errorf("plain after TLS off: %d %q, want 200 green", code, body)
	}
	if got := serverRoutes(t, cs, "tinyforge-tls"); len(got) != 0 {
		t.Errorf("HTTPS server still routes %v after TLS off", got)
	}
	if err := p.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	if ids, _ := p.Routes(ctx); len(ids) != 0 {
		t.Errorf("Routes after delete = %v, want none", ids)
	}
}

func TestHooksRouteExposesOnlyHooks(t *testing.T) {
	sidecar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "sidecar "+r.URL.Path)
	}))
	t.Cleanup(sidecar.Close)
	hooks := &caddy.Hooks{Host: "hooks.example.com", Upstream: sidecar.Listener.Addr().String(), Every: 100 * time.Millisecond}
	hooks.OnError = func(err error) { t.Logf("hooks: %v", err) }
	cs, p, tlsAddr := tlsPlugin(t, hooks)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	roots := rootCA(t, cs)
	if code, body := httpsGet(t, tlsAddr, hooks.Host, "/v1/hooks/distribution", roots); code != 200 || body != "sidecar /v1/hooks/distribution" {
		t.Errorf("hooks path: %d %q, want the sidecar's answer", code, body)
	}
	for _, path := range []string{"/v1/workloads", "/v1/deploy", "/healthz", "/v1/hooksx", "/"} {
		if code, body := httpsGet(t, tlsAddr, hooks.Host, path, roots); code != 404 || strings.Contains(body, "sidecar") {
			t.Errorf("%s through the hooks host: %d %q, want 404 from Caddy", path, code, body)
		}
	}
	if ids, err := p.Routes(ctx); err != nil || len(ids) != 0 {
		t.Errorf("Routes = %v, %v; the hooks route is not a workload's", ids, err)
	}
	// Caddy loses the route (a config reset): Run puts it back.
	req, _ := http.NewRequest(http.MethodDelete, cs.AdminURL+"/id/tinyforge.hooks.tls", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("delete hooks route: %v %v", resp, err)
	}
	if code, _ := httpsGet(t, tlsAddr, hooks.Host, "/v1/hooks/x", roots); code != 200 {
		t.Errorf("hooks route not restored: %d", code)
	}
}
