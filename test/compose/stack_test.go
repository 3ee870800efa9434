// Package compose runs compose.example.yml, the stack README's quick start
// tells users to start, with docker compose (v2 when installed, else
// docker-compose v1) against the real Docker Engine. Images that cannot be
// pulled here are replaced by stand-ins built from Debian's packages of the
// same software (scripts/standin-images.sh) and by `make image`. It owns no
// production code and is its own package so it runs beside test/e2e.
package compose

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// repoRoot is the module root, where compose.example.yml lives.
const repoRoot = "../.."

// stack is one compose project of compose.example.yml.
type stack struct {
	t       *testing.T
	cli     *client.Client
	dir     string   // project directory: compose.yml, examples/, secrets/
	project string   // -p, also the sidecar's scope
	command []string // docker compose or docker-compose
	env     []string // the variables compose.example.yml reads
	domain  string
	https   string // the edge's HTTPS port on the host, 127.0.0.1:<port>
	http    string
	repo    string // the workload's image repository, with registry host
	roots   *x509.CertPool
	network string // the workload network, once created
	removed bool
}

// composeCommand is `docker compose` when the v2 plugin is installed, else
// docker-compose (v1); neither stops the test through Unavailable.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if path, err := exec.LookPath("docker-compose"); err == nil {
		return []string{path}
	}
	testsvc.Unavailable(t, "neither `docker compose` nor docker-compose is installed")
	return nil
}

// standins builds the stand-in images (testsvc.Standins) and returns
// their variables (REDIS_IMAGE=..., ...), for compose's environment.
func standins(t *testing.T, cli *client.Client) []string {
	t.Helper()
	var vars []string
	for k, v := range testsvc.Standins(t, cli, repoRoot) {
		vars = append(vars, k+"="+v)
	}
	return vars
}

// makeImage is testsvc.MakeImage under this package's name.
func makeImage(t *testing.T, cli *client.Client) string {
	return testsvc.MakeImage(t, cli, repoRoot, "tinyforge-compose-test")
}

// newStack lays out a project directory holding the very compose file of
// the repository, the example configs it mounts and fresh secrets. The
// caller defers remove, so the stack goes before the images it runs.
func newStack(t *testing.T, cli *client.Client, images []string) *stack {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, filepath.Join(repoRoot, "compose.example.yml"), filepath.Join(dir, "compose.yml"))
	for _, f := range []string{"registry.yml", "caddy.json"} {
		copyFile(t, filepath.Join(repoRoot, "examples", f), filepath.Join(dir, "examples", f))
	}
	for _, s := range []string{"api_token", "webhook_token", "secret_key", "redis_password"} {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		writeFile(t, filepath.Join(dir, "secrets", s), hex.EncodeToString(b)+"\n")
	}
	project := "tfc" + strings.ToLower(testsvc.RunID)
	registry := fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))
	httpPort, httpsPort := testsvc.FreePort(t), testsvc.FreePort(t)
	s := &stack{
		t: t, cli: cli, dir: dir, project: project, command: composeCommand(t),
		domain: project + ".test",
		http:   fmt.Sprintf("127.0.0.1:%d", httpPort), https: fmt.Sprintf("127.0.0.1:%d", httpsPort),
		repo: registry + "/acme/web",
	}
	_, regPort, _ := net.SplitHostPort(registry)
	s.env = append(images,
		"HTTP_PORT="+fmt.Sprint(httpPort), "HTTPS_PORT="+fmt.Sprint(httpsPort),
		"REGISTRY_PORT="+regPort, "REGISTRY_HOST="+registry, "APP_REPOSITORY=acme/web",
		"DOMAIN="+s.domain, "WORKLOAD_NETWORK="+project+"-workloads", "TINYFORGE_SCOPE="+project,
		"CADDY_TLS=internal")
	return s
}

// compose runs one compose command in the project and returns its output.
func (s *stack) compose(args ...string) (string, error) {
	s.t.Helper()
	full := append(append([]string{}, s.command[1:]...), append([]string{"-f", "compose.yml", "-p", s.project}, args...)...)
	cmd := exec.Command(s.command[0], full...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *stack) mustCompose(args ...string) {
	s.t.Helper()
	if out, err := s.compose(args...); err != nil {
		s.t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// remove takes the stack down: the workloads first (they hold the
// workload network), then every service, network and volume.
func (s *stack) remove() {
	if s.removed {
		return
	}
	s.removed = true
	if s.t.Failed() {
		out, _ := s.compose("logs", "--no-color", "--tail", "80")
		s.t.Logf("compose logs:\n%s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range s.workloads(ctx, true) {
		_ = s.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	}
	if out, err := s.compose("down", "-v", "--remove-orphans", "--timeout", "5"); err != nil {
		s.t.Errorf("compose down -v: %v\n%s", err, out)
	}
	if s.network != "" {
		if err := s.cli.NetworkRemove(ctx, s.network); err != nil && !cerrdefs.IsNotFound(err) {
			s.t.Errorf("remove the workload network %s: %v", s.network, err)
		}
	}
}

// createNetwork is README's `docker network create tinyforge`, for the
// stack's own workload network.
func (s *stack) createNetwork() {
	s.t.Helper()
	name := s.project + "-workloads"
	if out, err := exec.Command("docker", "network", "create", "--label", testsvc.RunLabel+"="+testsvc.RunID, name).CombinedOutput(); err != nil {
		s.t.Fatalf("docker network create %s: %v\n%s", name, err, out)
	}
	s.network = name
}

// workloads lists the containers the stack's sidecar created.
func (s *stack) workloads(ctx context.Context, all bool) []container.Summary {
	f := filters.NewArgs(filters.Arg("label", "tinyforge.managed=true"), filters.Arg("label", "tinyforge.scope="+s.project))
	cs, err := s.cli.ContainerList(ctx, container.ListOptions{All: all, Filters: f})
	if err != nil {
		s.t.Fatalf("list workload containers: %v", err)
	}
	return cs
}

// service is the container of one compose service.
func (s *stack) service(name string) string {
	s.t.Helper()
	f := filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+s.project), filters.Arg("label", "com.docker.compose.service="+name))
	cs, err := s.cli.ContainerList(context.Background(), container.ListOptions{Filters: f})
	if err != nil || len(cs) != 1 {
		s.t.Fatalf("container of service %s: %d found, %v", name, len(cs), err)
	}
	return cs[0].ID
}

// ip is the address of service's container on the project network net.
func (s *stack) ip(service, network string) string {
	s.t.Helper()
	c, err := s.cli.ContainerInspect(context.Background(), s.service(service))
	if err != nil {
		s.t.Fatal(err)
	}
	ep := c.NetworkSettings.Networks[s.project+"_"+network]
	if ep == nil || ep.IPAddress == "" {
		s.t.Fatalf("%s has no address on %s_%s", service, s.project, network)
	}
	return ep.IPAddress
}

// logs is the sidecar's log so far.
func (s *stack) logs() string {
	out, _ := s.compose("logs", "--no-color", "tinyforge")
	return out
}

// trustEdge reads the root of Caddy's internal CA out of the edge's data
// volume, as README tells users to, once Caddy has made it.
func (s *stack) trustEdge() {
	s.t.Helper()
	const path = "/data/caddy/pki/authorities/local/root.crt"
	deadline := time.Now().Add(60 * time.Second)
	for {
		rc, _, err := s.cli.CopyFromContainer(context.Background(), s.service("caddy"), path)
		if err == nil {
			tr := tar.NewReader(rc)
			_, err = tr.Next()
			var pem []byte
			if err == nil {
				pem, err = io.ReadAll(tr)
			}
			rc.Close()
			pool := x509.NewCertPool()
			if err == nil && pool.AppendCertsFromPEM(pem) {
				s.roots = pool
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("caddy's internal CA root %s: %v", path, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// client sends requests for any host to the edge's HTTPS port, trusting
// only Caddy's internal CA.
func (s *stack) client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, s.https)
		},
		MaxIdleConnsPerHost: 8,
	}}
}

// get fetches https://<host>/ through the edge.
func (s *stack) get(c *http.Client, host string) (int, string, error) {
	resp, err := c.Get("https://" + host + "/")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitServed polls https://<host>/ until it answers 200 with want.
func (s *stack) waitServed(host, want string, timeout time.Duration) time.Duration {
	s.t.Helper()
	start := time.Now()
	c := s.client()
	var last string
	for time.Since(start) < timeout {
		code, body, err := s.get(c, host)
		if err == nil && code == 200 && body == want {
			return time.Since(start)
		}
		last = fmt.Sprintf("%d %q %v", code, body, err)
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("https://%s/ did not serve %q within %s; last: %s", host, want, timeout, last)
	return 0
}

// exec runs the testapp binary inside a workload container.
func (s *stack) exec(containerID string, args ...string) (string, int) {
	s.t.Helper()
	cmd := exec.Command("docker", append([]string{"exec", containerID, "/app"}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("docker exec %v: %v", args, err)
	}
	return strings.TrimSpace(string(out)), code
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

// writeFile writes a world-readable file: compose (v1, and v2 outside
// swarm) bind-mounts secrets as they are, and Redis and the sidecar read
// them as their own users (999, 65532).
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lines returns the lines of s containing every one of subs.
func lines(s string, subs ...string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
next:
	for sc.Scan() {
		for _, sub := range subs {
			if !strings.Contains(sc.Text(), sub) {
				continue next
			}
		}
		out = append(out, sc.Text())
	}
	return out
}
