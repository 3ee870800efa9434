package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/tinyforge/tinyforge/labels"
)

// dockerAPI is every Docker Engine API call the sidecar may make: the list
// the README documents and the socket-proxy compose snippet grants. Paths
// are matched without the /v1.xx version prefix.
var dockerAPI = []apiRule{
	{"HEAD", `/_ping`, "PING"},
	{"GET", `/_ping`, "PING"},
	{"GET", `/events`, "EVENTS"},
	{"GET", `/containers/json`, "CONTAINERS"},
	{"GET", `/containers/{id}/json`, "CONTAINERS"},
	{"POST", `/containers/create`, "CONTAINERS + POST"},
	{"POST", `/containers/{id}/start`, "CONTAINERS + POST"},
	{"POST", `/containers/{id}/stop`, "CONTAINERS + POST"},
	{"DELETE", `/containers/{id}`, "CONTAINERS + DELETE"},
	{"POST", `/images/create`, "IMAGES + POST"},
	{"GET", `/images/{name}/json`, "IMAGES"},
	{"GET", `/networks`, "NETWORKS"},
	{"GET", `/networks/{id}`, "NETWORKS"},
	{"POST", `/networks/create`, "NETWORKS + POST"},
	{"DELETE", `/networks/{id}`, "NETWORKS + DELETE"},
}

type apiRule struct {
	method, path, section string
}

var (
	versionPrefix = regexp.MustCompile(`^/v[0-9.]+`)
	idSegment     = `[A-Za-z0-9_.-]+`
)

func (r apiRule) re() *regexp.Regexp {
	p := regexp.QuoteMeta(r.path)
	p = strings.ReplaceAll(p, `\{id\}`, idSegment)
	p = strings.ReplaceAll(p, `\{name\}`, `.+`) // image names hold '/' and ':'
	return regexp.MustCompile("^" + p + "$")
}

// allowListProxy stands in front of the Docker socket like a socket proxy
// does: it forwards only the calls of dockerAPI, answers 403 to anything
// else, and records what was used and what was refused.
type allowListProxy struct {
	addr  string
	rules []apiRule
	res   []*regexp.Regexp

	mu      sync.Mutex
	used    map[string]int // "METHOD /path-template" -> count
	refused []string
}

func newAllowListProxy(t *testing.T, rules []apiRule) *allowListProxy {
	t.Helper()
	// The engine the tests use: DOCKER_HOST when set, else the local socket.
	network, addr := "unix", "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		addr = strings.TrimPrefix(h, "unix://")
	} else if strings.HasPrefix(h, "tcp://") {
		network, addr = "tcp", strings.TrimPrefix(h, "tcp://")
	}
	p := &allowListProxy{rules: rules, used: map[string]int{}}
	for _, r := range rules {
		p.res = append(p.res, r.re())
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}},
		FlushInterval: -1, // events and pull progress stream
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rule, ok := p.match(r); ok {
			p.mu.Lock()
			p.used[rule.method+" "+rule.path]++
			p.mu.Unlock()
			rp.ServeHTTP(w, r)
			return
		}
		p.mu.Lock()
		p.refused = append(p.refused, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		http.Error(w, "403 Forbidden: not on the tinyforge allow-list", http.StatusForbidden)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.addr = ln.Addr().String()
	return p
}

func (p *allowListProxy) match(r *http.Request) (apiRule, bool) {
	path := versionPrefix.ReplaceAllString(r.URL.Path, "")
	for i, rule := range p.rules {
		if rule.method == r.Method && p.res[i].MatchString(path) {
			return rule, true
		}
	}
	return apiRule{}, false
}

func (p *allowListProxy) report() (used map[string]int, refused []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	used = make(map[string]int, len(p.used))
	for k, v := range p.used {
		used[k] = v
	}
	return used, slices.Clone(p.refused)
}

// TestThroughSocketProxy runs the sidecar with DOCKER_HOST pointing at an
// allow-list proxy: controllers are found, two pushes deploy blue-green
// and are served, and the sidecar never calls anything off the list. The
// calls it made are logged: they are the documented list.
func TestThroughSocketProxy(t *testing.T) {
	proxy := newAllowListProxy(t, dockerAPI)
	// The proxy refuses what is not listed (checked before the sidecar runs).
	for _, probe := range []struct{ method, path string }{
		{"GET", "/v1.41/info"}, {"POST", "/v1.41/containers/x/exec"}, {"POST", "/v1.41/build"},
		{"GET", "/v1.41/containers/x/logs"}, {"POST", "/v1.41/containers/x/kill"}, {"GET", "/v1.41/volumes"},
	} {
		req, _ := http.NewRequest(probe.method, "http://"+proxy.addr+probe.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("proxy let %s %s through (%d)", probe.method, probe.path, resp.StatusCode)
		}
	}
	_, probes := proxy.report()

	s := newStackWith(t, stackOptions{env: func(*stack) []string { return []string{"DOCKER_HOST=tcp://" + proxy.addr} }})
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	// v2 is removed from the engine after its push, so its deploy pulls it
	// (a digest the engine has is not pulled again).
	s.hooks.mu.Lock()
	s.hooks.hold = true
	s.hooks.mu.Unlock()
	digest := s.pushDigest("v2")
	if _, err := s.cli.ImageRemove(context.Background(), s.repo+":v2", image.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if code := s.notify(s.sidecarURL, "v2", digest); code != http.StatusAccepted {
		t.Fatalf("notification of v2 answered %d", code)
	}
	s.waitServed("v2", 60*time.Second)
	s.waitContainers(1)
	if cs := s.workloadContainers(true); cs[0].Labels[labels.ManagedTag] != "v2" {
		t.Fatalf("running tag %s, want v2", cs[0].Labels[labels.ManagedTag])
	}
	time.Sleep(1500 * time.Millisecond) // a reconcile pass or two through the proxy

	used, refused := proxy.report()
	refused = refused[len(probes):]
	var lines []string
	for _, r := range dockerAPI {
		lines = append(lines, fmt.Sprintf("%-7s %-24s %-20s %d", r.method, r.path, r.section, used[r.method+" "+r.path]))
	}
	t.Logf("Docker API calls of the sidecar through the allow-list proxy (method, path, socket-proxy section, count):\n%s", strings.Join(lines, "\n"))
	if len(refused) > 0 {
		t.Errorf("the sidecar called endpoints outside the allow-list: %v", refused)
	}
	for _, must := range []string{"GET /events", "GET /containers/json", "POST /containers/create", "POST /containers/{id}/start",
		"POST /containers/{id}/stop", "DELETE /containers/{id}", "POST /images/create", "POST /networks/create"} {
		if used[must] == 0 {
			t.Errorf("%s was never used: the scenario does not exercise the list", must)
		}
	}
}
