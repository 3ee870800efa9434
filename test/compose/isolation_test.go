package compose

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// isolation checks from inside the deployed workload what it can reach:
// nothing of Redis, the socket proxy, Caddy's admin API or the sidecar's
// listener, by name or by address; through the edge, the sidecar's
// webhooks and nothing else of its API.
func isolation(t *testing.T, s *stack) {
	cs := s.workloads(context.Background(), false)
	if len(cs) != 1 {
		t.Fatalf("%d running workload containers, want 1", len(cs))
	}
	app := cs[0].ID
	unreachable := []string{
		"redis:6379", "socket-proxy:2375", "caddy-admin:2019", "caddy:2019",
		"tinyforge:9080", "tinyforge-hooks:9080",
		s.ip("redis", "control") + ":6379",
		s.ip("socket-proxy", "docker-api") + ":2375",
		s.ip("caddy", "control") + ":2019",
		s.ip("tinyforge", "hooks") + ":9080",
		s.ip("tinyforge", "control") + ":9080",
	}
	for _, addr := range unreachable {
		if out, code := s.exec(app, "-reach", addr); code != 1 {
			t.Errorf("workload reaches %s (exit %d): %s", addr, code, out)
		} else {
			t.Logf("%s: %s", addr, out)
		}
	}
	// The edge itself is the workloads' only peer, on its public ports.
	hooks := "https://hooks." + s.domain
	if out, code := s.exec(app, "-get", hooks+"/v1/hooks/distribution", "-via", "caddy:443"); code != 0 || !strings.HasPrefix(out, "status 405") {
		t.Errorf("webhook through the edge: exit %d %q, want the sidecar's 405 (GET on a POST endpoint)", code, out)
	}
	for _, path := range []string{"/v1/workloads", "/v1/deploy", "/healthz", "/metrics", "/ui/", "/v1/deploys/stream"} {
		if out, code := s.exec(app, "-get", hooks+path, "-via", "caddy:443"); code != 0 || out != "status 404 not found" {
			t.Errorf("%s through the hooks host: exit %d %q, want Caddy's 404", path, code, out)
		}
	}
	// Plain HTTP on the edge redirects to HTTPS.
	if out, code := s.exec(app, "-get", "http://www."+s.domain+"/", "-via", "caddy:80"); code != 0 || !strings.HasPrefix(out, "status 308") {
		t.Errorf("http://www.%s/: exit %d %q, want a 308 to https", s.domain, code, out)
	}
	// From outside, the redirect names the published HTTPS port.
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.http+"/a?b=c", nil)
	req.Host = "www." + s.domain
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("plain HTTP through the published port: %v", err)
	}
	resp.Body.Close()
	_, httpsPort, _ := strings.Cut(s.https, ":")
	if want := "https://www." + s.domain + ":" + httpsPort + "/a?b=c"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("http://www.%s/a?b=c: %s Location %q, want 308 to %s", s.domain, resp.Status, resp.Header.Get("Location"), want)
	}
}
