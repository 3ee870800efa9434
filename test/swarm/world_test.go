// Package swarm runs tinyforge with --engine swarm end to end, on swarms
// of private Docker engines (testsvc.PrivateEngine) that the tests start
// in network namespaces of their own: the machine's shared engine only
// builds images and never joins or leaves a swarm, so these tests run
// beside every other package. It owns no production code.
package swarm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// repoRoot is the module root (make image, scripts/).
const repoRoot = "../.."

// Ports inside the manager's namespace, which is the test's alone.
const (
	apiPort  = "9080" // the sidecar's API and hooks
	edgePort = "80"   // Caddy's HTTP server
)

// world is one private swarm running the whole system: Redis, the Caddy
// edge and the sidecar as containers on the overlay, a controller
// service declaring the workload, and a registry on the host that
// notifies the sidecar of every push.
type world struct {
	t         *testing.T
	main      *client.Client // the shared engine: builds images, nothing else
	e         *testsvc.PrivateEngine
	cli       *client.Client // the manager
	net       string         // the workloads' overlay
	reg       *testsvc.RegistryServer
	repo      string // the workload's repository, with the registry host
	host      string // the public host of the workload's face
	apiToken  string
	hookToken string
	sidecar   string // container id; "" when the sidecar runs as a service
	// sidecarService: the sidecar runs as the service sidecarSvc of two
	// replicas (see newServiceWorld), behind Caddy's hooks server.
	sidecarService bool
	app            string // the testapp image on the shared engine, v1
	images         map[string]string
}

// newWorld builds the images, starts the private swarm and everything on
// it, and waits until the sidecar answers.
func newWorld(t *testing.T, workload map[string]string) *world {
	t.Helper()
	return buildWorld(t, workload, false)
}

// buildWorld is newWorld, with the sidecar as a container or, when
// service, as a service of two replicas (see startSidecarService).
func buildWorld(t *testing.T, workload map[string]string, service bool, sidecarEnv ...string) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("swarm e2e: starts a private Docker engine")
	}
	w := &world{t: t, main: testsvc.Docker(t), host: "www.swarm.test", apiToken: token(), hookToken: token(), sidecarService: service}
	w.images = testsvc.Standins(t, w.main, repoRoot)
	w.images["TINYFORGE_IMAGE"] = makeImage(t, w.main)
	w.app = "tf-sw-" + testsvc.RunID + "-app:base"
	testsvc.BuildImage(t, w.main, w.app, nil)

	start := time.Now()
	w.e = testsvc.NewPrivateEngine(t)
	w.cli = w.e.Client
	w.e.InitSwarm(t)
	w.e.Load(t, w.main, w.images["CADDY_IMAGE"], w.images["REDIS_IMAGE"], w.images["TINYFORGE_IMAGE"], w.app)
	t.Logf("MEASURED: private engine up, swarm made, 4 images loaded: %s", time.Since(start).Round(10*time.Millisecond))

	w.net = "tfsw-apps"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := w.cli.NetworkCreate(ctx, w.net, network.CreateOptions{Driver: "overlay", Attachable: true}); err != nil {
		t.Fatalf("overlay %s: %v", w.net, err)
	}
	port := testsvc.FreePort(t) // free on loopback; the private net's address is new
	regHost := fmt.Sprintf("%s:%d", w.e.Net().HostAddr, port)
	w.repo = regHost + "/swarm/app"
	w.run("redis", w.images["REDIS_IMAGE"], runOpts{cmd: []string{"redis-server", "--save", "", "--appendonly", "no", "--protected-mode", "no"}})
	w.startEdge()
	if service {
		w.startSidecarService(sidecarEnv)
	} else {
		w.startSidecar(sidecarEnv)
	}
	w.reg = testsvc.RegistryAt(t, regHost, &testsvc.Notify{
		URL: "http://" + w.e.Addr + ":" + apiPort + "/v1/hooks/distribution", Token: w.hookToken})
	w.controller(workload)
	return w
}

func token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runOpts are what the containers of the world differ in.
type runOpts struct {
	cmd     []string
	env     []string
	binds   []string
	ports   []string // container ports published on the same port of the namespace
	sysctls map[string]string
	labels  map[string]string
	user    string
}

// run starts a standalone container on the overlay, named name.
func (w *world) run(name, img string, o runOpts) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exposed, bindings := nat.PortSet{}, nat.PortMap{}
	for _, p := range o.ports {
		port := nat.Port(p + "/tcp")
		exposed[port] = struct{}{}
		bindings[port] = []nat.PortBinding{{HostPort: p}}
	}
	resp, err := w.cli.ContainerCreate(ctx,
		&container.Config{Image: img, Cmd: o.cmd, Env: o.env, ExposedPorts: exposed, Labels: o.labels, User: o.user},
		&container.HostConfig{NetworkMode: container.NetworkMode(w.net), Binds: o.binds, PortBindings: bindings, Sysctls: o.sysctls},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{w.net: {}}},
		nil, name)
	if err != nil {
		w.t.Fatalf("create %s: %v", name, err)
	}
	if err := w.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		w.t.Fatalf("start %s: %v", name, err)
	}
	return resp.ID
}

// startEdge runs Caddy on the overlay with its admin API on its overlay
// address (as compose.swarm.yml does) and its HTTP port published. With
// the sidecar as a service, Caddy also publishes the API port, where a
// server of its own (which the sidecar never touches) proxies to the
// sidecar service by name: DNS round-robin over its replicas, retried
// while one is gone. That is the one address the registry notifies.
func (w *world) startEdge() {
	w.t.Helper()
	conf := `{"admin": {"listen": "caddy:2019"}}`
	ports := []string{edgePort}
	if w.sidecarService {
		conf = `{"admin": {"listen": "caddy:2019"}, "apps": {"http": {"servers": {"sidecar": {"listen": [":` + apiPort + `"],
			"routes": [{"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "` + sidecarSvc + `:` + apiPort + `"}],
				"load_balancing": {"try_duration": "15s", "try_interval": "250ms"},
				"transport": {"protocol": "http", "dial_timeout": "2s"}}]}]}}}}}`
		ports = append(ports, apiPort)
	}
	cfg := filepath.Join(w.t.TempDir(), "caddy.json")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.run("caddy", w.images["CADDY_IMAGE"], runOpts{
		cmd:   []string{"caddy", "run", "--config", "/etc/caddy/caddy.json"},
		binds: []string{cfg + ":/etc/caddy/caddy.json:ro"}, ports: ports,
		// Caddy rebinds on every config change; queued connections move over.
		sysctls: map[string]string{"net.ipv4.tcp_migrate_req": "1"},
	})
}

// sidecarEnv is the sidecar's configuration in every world, then extra.
func (w *world) sidecarEnv(extra []string) []string {
	return append([]string{
		"TINYFORGE_ENGINE=swarm",
		"TINYFORGE_NETWORK=" + w.net,
		"TINYFORGE_LISTEN=:" + apiPort,
		"TINYFORGE_REDIS_URL=redis://redis:6379/0",
		"TINYFORGE_PROXY=caddy",
		"TINYFORGE_CADDY_ADMIN=http://caddy:2019",
		"TINYFORGE_CADDY_LISTEN=:" + edgePort,
		"TINYFORGE_CADDY_PROBE=http://caddy:" + edgePort,
		"TINYFORGE_DOMAIN=swarm.test",
		"TINYFORGE_API_TOKEN=" + w.apiToken,
		"TINYFORGE_WEBHOOK_TOKEN=" + w.hookToken,
		"TINYFORGE_DRAIN=2s",
		"TINYFORGE_STOP_GRACE=5s",
		"TINYFORGE_RECONCILE_INTERVAL=1s",
		"TINYFORGE_WATCH=2s",
		"TINYFORGE_LOG_FORMAT=json",
		"TINYFORGE_LOG_LEVEL=debug",
	}, extra...)
}

// startSidecar runs the sidecar from `make image` on the overlay with the
// manager's socket, --engine swarm, and waits until its API answers.
func (w *world) startSidecar(extraEnv []string) {
	w.t.Helper()
	env := w.sidecarEnv(append([]string{"TINYFORGE_INSTANCE_ID=sidecar-" + testsvc.RunID}, extraEnv...))
	w.sidecar = w.run("tinyforge", w.images["TINYFORGE_IMAGE"], runOpts{
		env: env, user: "0:0", ports: []string{apiPort},
		binds: []string{w.e.Socket + ":/var/run/docker.sock"},
	})
	w.t.Cleanup(func() {
		if w.t.Failed() {
			w.t.Logf("sidecar log (tail):\n%s", w.logs(w.sidecar, 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(w.api("/healthz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if c, ierr := w.cli.ContainerInspect(context.Background(), w.sidecar); ierr == nil && !c.State.Running {
			w.t.Fatalf("sidecar exited (%d)", c.State.ExitCode)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("sidecar API not answering after 30 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// controller creates the service whose labels declare the workload web:
// a stack's service with deploy.labels, as compose.swarm.yml has.
func (w *world) controller(extra map[string]string) {
	w.t.Helper()
	lbls := map[string]string{
		labels.Enable:                                 "true",
		"tinyforge.workloads.web.image":               w.repo,
		"tinyforge.workloads.web.port":                "8080",
		"tinyforge.workloads.web.healthcheck":         "/health",
		"tinyforge.workloads.web.healthTimeout":       "15s",
		"tinyforge.workloads.web.replicas":            "2",
		"tinyforge.workloads.web.faces.www.subdomain": "www",
	}
	for k, v := range extra {
		lbls[k] = v
	}
	one := uint64(1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := w.cli.ServiceCreate(ctx, swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: "stack_controller", Labels: lbls},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: w.app}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		w.t.Fatalf("controller service: %v", err)
	}
	w.eventually(30*time.Second, "workload web declared by the controller service", func() bool {
		var st statusBody
		return w.getJSON("/v1/workloads", &st) == nil && st.Workloads["web"] != nil
	})
}

// push builds version tag of the app on the shared engine, loads it into
// the manager and pushes it from there to the registry, which notifies
// the sidecar. It returns when the push ended.
func (w *world) push(tag string, env ...string) time.Time {
	w.t.Helper()
	vars := map[string]string{"APP_VERSION": tag}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	src := "tf-sw-" + testsvc.RunID + "-app:" + tag
	testsvc.BuildImage(w.t, w.main, src, vars)
	w.e.Load(w.t, w.main, src)
	w.e.Push(w.t, src, w.repo+":"+tag)
	return time.Now()
}

// api is the URL of path on the sidecar, through its published port.
func (w *world) api(path string) string { return "http://" + w.e.Addr + ":" + apiPort + path }

func (w *world) getJSON(path string, into any) error {
	req, _ := http.NewRequest(http.MethodGet, w.api(path), nil)
	req.Header.Set("Authorization", "Bearer "+w.apiToken)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s %s", path, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// get fetches path through the edge for the workload's public host.
func (w *world) get(c *http.Client, path string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+net.JoinHostPort(w.e.Addr, edgePort)+path, nil)
	req.Host = w.host
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitServed waits until the edge serves version and returns when it
// first did.
func (w *world) waitServed(version string, within time.Duration) time.Time {
	w.t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	var served time.Time
	w.eventually(within, version+" served through the edge", func() bool {
		code, body, err := w.get(c, "/")
		if err == nil && code == 200 && body == version {
			served = time.Now()
			return true
		}
		return false
	})
	return served
}

func (w *world) eventually(within time.Duration, what string, ok func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// services lists the workload's services on the manager (docker service ls).
func (w *world) services() []swarm.Service {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svcs, err := w.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(
		filters.Arg("label", labels.Managed+"=true"), filters.Arg("label", labels.ManagedWorkload+"=web"))})
	if err != nil {
		w.t.Fatalf("docker service ls: %v", err)
	}
	return svcs
}

// tasks lists the running tasks of a service (docker service ps).
func (w *world) tasks(serviceID string) []swarm.Task {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts, err := w.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", serviceID), filters.Arg("desired-state", "running"))})
	if err != nil {
		w.t.Fatalf("docker service ps: %v", err)
	}
	return ts
}

// logs is the last lines of a container's output, all of it when lines < 0.
func (w *world) logs(id string, lines int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tail := "all"
	if lines >= 0 {
		tail = fmt.Sprint(lines)
	}
	r, err := w.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
	if err != nil {
		return err.Error()
	}
	defer r.Close()
	var b bytes.Buffer
	_, _ = io.Copy(&b, r)
	return strings.Map(func(r rune) rune {
		if r < ' ' && r != '\n' {
			return -1
		}
		return r
	}, b.String())
}

// makeImage is testsvc.MakeImage under this package's name.
func makeImage(t *testing.T, cli *client.Client) string {
	return testsvc.MakeImage(t, cli, repoRoot, "tinyforge-swarm-test")
}
