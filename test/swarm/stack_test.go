package swarm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestComposeSwarmStack deploys compose.swarm.yml as a user would
// (docker stack deploy, on a private swarm), with the stand-in images:
// the sidecar service is the controller (its deploy.labels), and pushes
// to a registry on the stack's hooks network are served through the edge,
// two tasks per version, one version at a time.
func TestComposeSwarmStack(t *testing.T) {
	if testing.Short() {
		t.Skip("swarm e2e: starts a private Docker engine")
	}
	// Opt-in (make swarm-stack), not part of make test: on Engine 20.10 the
	// network aliases of dnsrr tasks resolve unreliably (moby#48561), and
	// this test passed 2 of 3 runs here. docs/swarm.md has the details.
	if os.Getenv("TINYFORGE_SWARM_STACK") != "1" {
		t.Skip("compose.swarm.yml stack test: opt-in with TINYFORGE_SWARM_STACK=1 (make swarm-stack); see docs/swarm.md")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		testsvc.Unavailable(t, "the docker CLI is not installed")
	}
	w := &world{t: t, main: testsvc.Docker(t), host: "www.swarm.test", hookToken: token()}
	w.images = testsvc.Standins(t, w.main, repoRoot)
	w.images["TINYFORGE_IMAGE"] = makeImage(t, w.main)
	w.e = testsvc.NewPrivateEngine(t)
	w.cli = w.e.Client
	w.e.InitSwarm(t)
	refs := []string{}
	for _, ref := range w.images {
		refs = append(refs, ref)
	}
	w.e.Load(t, w.main, refs...)
	w.labelManager()
	w.net = "tfsw-apps"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := w.cli.NetworkCreate(ctx, w.net, network.CreateOptions{Driver: "overlay", Attachable: true}); err != nil {
		t.Fatalf("workload network: %v", err)
	}
	w.repo = "127.0.0.1:5000/swarm/app"

	dir := t.TempDir()
	copyFile(t, filepath.Join(repoRoot, "compose.swarm.yml"), filepath.Join(dir, "compose.yml"))
	copyFile(t, filepath.Join(repoRoot, "examples", "caddy.json"), filepath.Join(dir, "examples", "caddy.json"))
	for _, s := range []string{"api_token", "webhook_token", "secret_key", "redis_password"} {
		v := token()
		if s == "webhook_token" {
			v = w.hookToken
		}
		writeFile(t, filepath.Join(dir, "secrets", s), v+"\n")
	}
	// DOCKER_SOCKET: the socket proxy must talk to the private engine,
	// never to the shared one behind /var/run/docker.sock.
	env := []string{"DOCKER_HOST=" + w.e.Host(), "DOCKER_SOCKET=" + w.e.Socket, "WORKLOAD_NETWORK=" + w.net, "REGISTRY_HOST=127.0.0.1:5000",
		"APP_REPOSITORY=swarm/app", "DOMAIN=swarm.test", "FACE_TLS=false", "CADDY_TLS=internal"}
	for k, v := range w.images {
		env = append(env, k+"="+v)
	}
	start := time.Now()
	stack(t, dir, env, "deploy", "--resolve-image", "never", "-c", "compose.yml", "tf")
	t.Cleanup(func() {
		if t.Failed() {
			for _, svc := range []string{"tf_socket-proxy", "tf_redis", "tf_caddy", "tf_tinyforge"} {
				out, _ := exec.Command("docker", "-H", w.e.Host(), "service", "ps", "--no-trunc", svc).CombinedOutput()
				logs, _ := exec.Command("docker", "-H", w.e.Host(), "service", "logs", "--tail", "20", svc).CombinedOutput()
				t.Logf("docker service ps %s:\n%s\nlogs:\n%s", svc, out, logs)
			}
		}
	})
	w.startRegistry("tf_hooks")

	pushed := w.push("v1")
	served := w.waitServed("v1", 3*time.Minute)
	t.Logf("MEASURED: stack deploy -> v1 served %s; push -> served %s", served.Sub(start).Round(100*time.Millisecond), served.Sub(pushed).Round(time.Millisecond))
	l := startLoad(w, 100)
	w.push("v2")
	w.waitServed("v2", 2*time.Minute)
	w.eventually(time.Minute, "one service of web", func() bool { return len(w.services()) == 1 })
	sent, failed, _ := l.stop()
	t.Logf("MEASURED: stack: v1 -> v2 under load: %d requests, %d failed", sent, len(failed))
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed; first: %v", len(failed), sent, failed[:min(5, len(failed))])
	}
	if n := len(w.tasks(w.services()[0].ID)); n != 2 {
		t.Errorf("v2 runs %d tasks, want the stack's 2 replicas", n)
	}
}

// labelManager labels the manager node tinyforge=true, where the stack
// places the sidecar, its socket proxy, Redis and the edge.
func (w *world) labelManager() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := w.cli.Info(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	n, _, err := w.cli.NodeInspectWithRaw(ctx, info.Swarm.NodeID)
	if err != nil {
		w.t.Fatal(err)
	}
	n.Spec.Labels = map[string]string{"tinyforge": "true"}
	if err := w.cli.NodeUpdate(ctx, n.ID, n.Version, n.Spec); err != nil {
		w.t.Fatalf("label the manager: %v", err)
	}
}

// startRegistry runs the stand-in registry on the manager, published on
// its port 5000 (the engine pushes to 127.0.0.1:5000) and attached to the
// stack's hooks network, notifying the sidecar there.
func (w *world) startRegistry(hooks string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	endpoint := fmt.Sprintf("[{name: tinyforge, url: 'http://tinyforge-hooks:9080/v1/hooks/distribution', headers: {Authorization: ['Bearer %s']}, timeout: 2s, threshold: 5, backoff: 1s}]", w.hookToken)
	port := nat.Port("5000/tcp")
	resp, err := w.cli.ContainerCreate(ctx,
		&container.Config{Image: w.images["REGISTRY_IMAGE"], Env: []string{"REGISTRY_NOTIFICATIONS_ENDPOINTS=" + endpoint}, ExposedPorts: nat.PortSet{port: {}}},
		&container.HostConfig{PortBindings: nat.PortMap{port: {{HostIP: "127.0.0.1", HostPort: "5000"}}}},
		nil, nil, "registry")
	if err != nil {
		w.t.Fatalf("registry: %v", err)
	}
	if err := w.cli.NetworkConnect(ctx, hooks, resp.ID, nil); err != nil {
		w.t.Fatalf("attach the registry to %s: %v", hooks, err)
	}
	if err := w.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		w.t.Fatalf("start registry: %v", err)
	}
	w.reg = &testsvc.RegistryServer{Host: "127.0.0.1:5000"}
}

// stack runs `docker stack <args>` against the private engine in dir.
func stack(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"stack"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker stack %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
