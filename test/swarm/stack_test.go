package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
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
	copyFile(t, filepath.Join(repoRoot, "examples", "caddy.swarm.json"), filepath.Join(dir, "examples", "caddy.swarm.json"))
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
		"APP_REPOSITORY=swarm/app", "DOMAIN=swarm.test", "FACE_TLS=false", "CADDY_TLS=internal", "LOG_LEVEL=debug"}
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

	// The stack is up when Caddy's admin API listens and the sidecar
	// follows the controller's workload (its "workloads changed" log):
	// pushing earlier would time the registry's retries, not a deploy.
	w.eventually(3*time.Minute, "Caddy's admin API and the sidecar's workload web", func() bool {
		time.Sleep(400 * time.Millisecond) // two docker CLI runs per check: not 10 a second
		return strings.Contains(w.serviceLogs("tf_caddy"), `"admin endpoint started"`) &&
			strings.Contains(w.serviceLogs("tf_tinyforge"), `"workloads":["web"]`)
	})
	ready := time.Now()
	t.Logf("MEASURED: stack deploy -> Caddy and the sidecar up %s", ready.Sub(start).Round(100*time.Millisecond))
	for _, svc := range []string{"tf_socket-proxy", "tf_redis", "tf_caddy", "tf_tinyforge"} {
		out, _ := exec.Command("docker", "-H", w.e.Host(), "service", "ps", "--format", "{{.Name}} {{.CurrentState}} {{.Error}}", svc).CombinedOutput()
		t.Logf("docker service ps %s: %s", svc, strings.TrimSpace(string(out)))
	}

	pushed := w.push("v1")
	served := w.waitServed("v1", 3*time.Minute)
	t.Logf("MEASURED: stack: v1 push -> served %s", served.Sub(pushed).Round(time.Millisecond))
	l := startLoad(w, 100)
	pushed = w.push("v2")
	served = w.waitServed("v2", 2*time.Minute)
	t.Logf("MEASURED: stack: v2 push -> served %s (under load)", served.Sub(pushed).Round(time.Millisecond))
	w.eventually(time.Minute, "one service of web", func() bool { return len(w.services()) == 1 })
	sent, failed, _ := l.stop()
	t.Logf("MEASURED: stack: v1 -> v2 under load: %d requests, %d failed", sent, len(failed))

	// Every name the stack uses resolved at once: no failed lookup in the
	// logs of the sidecar, Caddy or the registry.
	logs := map[string]string{"tf_tinyforge": w.serviceLogs("tf_tinyforge"), "tf_caddy": w.serviceLogs("tf_caddy")}
	out, _ := exec.Command("docker", "-H", w.e.Host(), "logs", "registry").CombinedOutput()
	logs["registry"] = string(out)
	for name, log := range logs {
		bad, slow := lookupErrors(log)
		t.Logf("MEASURED: %s: %d failed lookups, %d timed out", name, len(bad), len(slow))
		if len(bad) > 0 {
			t.Errorf("%s: %d failed name lookups; first:\n%s", name, len(bad), strings.Join(bad[:min(5, len(bad))], "\n"))
		}
		for host, lines := range slow {
			if len(lines) > maxLookupTimeouts {
				t.Errorf("%s: lookup of %s timed out %d times (a name that never resolves); first:\n%s", name, host, len(lines), lines[0])
			}
		}
	}
	// Caddy's admin API is reached on the control network, never on the
	// hooks or the workloads network (where Caddy has addresses too).
	control := w.subnet("tf_control")
	reqs := 0
	for _, line := range strings.Split(logs["tf_caddy"], "\n") {
		if !strings.Contains(line, `"logger":"admin.api","msg":"received request"`) {
			continue
		}
		var entry struct {
			RemoteIP string `json:"remote_ip"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("caddy admin log line: %v: %s", err, line)
		}
		reqs++
		if ip := net.ParseIP(entry.RemoteIP); ip == nil || !control.Contains(ip) {
			t.Errorf("Caddy's admin API was called from %s, outside tf_control (%s)", entry.RemoteIP, control)
		}
	}
	if reqs == 0 {
		t.Error("no admin API request in Caddy's log")
	}
	t.Logf("MEASURED: %d admin API requests, all from tf_control (%s)", reqs, control)
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
	endpoint := fmt.Sprintf("[{name: tinyforge, url: 'http://tf_tinyforge.tf_hooks:9080/v1/hooks/distribution', headers: {Authorization: ['Bearer %s']}, timeout: 2s, threshold: 5, backoff: 1s}]", w.hookToken)
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

// serviceLogs is the whole output of a service's tasks (docker service logs).
func (w *world) serviceLogs(svc string) string {
	out, _ := exec.Command("docker", "-H", w.e.Host(), "service", "logs", "--raw", svc).CombinedOutput()
	return string(out)
}

// subnet is the first IPv4 subnet of a network on the manager.
func (w *world) subnet(name string) *net.IPNet {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := w.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		w.t.Fatalf("network %s: %v", name, err)
	}
	for _, c := range n.IPAM.Config {
		if _, sn, err := net.ParseCIDR(c.Subnet); err == nil && sn.IP.To4() != nil {
			return sn
		}
	}
	w.t.Fatalf("network %s has no IPv4 subnet: %+v", name, n.IPAM.Config)
	return nil
}

// maxLookupTimeouts is how many times one name's lookup may time out:
// the engine's embedded DNS (127.0.0.11) can stall past a resolver's
// timeout on this loaded 2-core machine (seen once while the stack came
// up in 65 s), and the caller retries; a name that does not resolve times
// out, or is refused, on every retry.
const maxLookupTimeouts = 2

// lookupErrors reads Go's "lookup <name> on 127.0.0.11:53: ..." lines of
// a log: bad are the answers that the name does not exist or could not be
// resolved, slow the timeouts, by name.
func lookupErrors(log string) (bad []string, slow map[string][]string) {
	slow = make(map[string][]string)
	for _, l := range strings.Split(log, "\n") {
		_, rest, ok := strings.Cut(l, "lookup ")
		if !ok || !strings.Contains(l, "no such host") && !strings.Contains(l, "i/o timeout") &&
			!strings.Contains(l, "server misbehaving") && !strings.Contains(l, ":53") {
			continue
		}
		if host, _, _ := strings.Cut(rest, " "); strings.Contains(l, "i/o timeout") {
			slow[host] = append(slow[host], l)
		} else {
			bad = append(bad, l)
		}
	}
	return bad, slow
}

func TestLookupErrors(t *testing.T) {
	log := strings.Join([]string{
		`level=error msg="error posting: dial tcp: lookup tf_tinyforge.tf_hooks on 127.0.0.11:53: read udp 127.0.0.1:50502->127.0.0.11:53: i/o timeout, retrying"`,
		`level=error msg="dial tcp: lookup tinyforge on 127.0.0.11:53: no such host"`,
		`{"msg":"dial tcp: lookup redis on 127.0.0.11:53: server misbehaving"}`,
		`level=info msg="lookup of nothing, all fine"`,
		`level=error msg="dial tcp: lookup tf_tinyforge.tf_hooks on 127.0.0.11:53: read udp 127.0.0.1:40000->127.0.0.11:53: i/o timeout"`,
	}, "\n")
	bad, slow := lookupErrors(log)
	if len(bad) != 2 || !strings.Contains(bad[0], "lookup tinyforge ") || !strings.Contains(bad[1], "lookup redis ") {
		t.Errorf("bad = %q, want the no-such-host and server-misbehaving lines", bad)
	}
	if len(slow) != 1 || len(slow["tf_tinyforge.tf_hooks"]) != 2 {
		t.Errorf("slow = %q, want two timeouts of tf_tinyforge.tf_hooks", slow)
	}
}
