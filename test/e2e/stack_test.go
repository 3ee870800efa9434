// Package e2e drives the real tinyforge binary against the real Docker
// Engine, a real docker-registry sending notifications, a real redis-server
// and a real Caddy, all private to the test and removed at its end.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/webhook"
)

var stackSeq atomic.Int32

// stack is one sidecar with its own registry, Redis, Caddy and network,
// and one workload whose controller the test creates.
type stack struct {
	t        *testing.T
	cli      *client.Client
	registry *testsvc.RegistryServer
	caddy    *testsvc.CaddyServer
	hooks    *hookRecorder

	sidecarURL string
	apiToken   string
	scope      string // the sidecar reads only controllers of its own scope
	network    string
	workload   string
	repo       string // image repository of the workload, without tag
	host       string // public host of the workload's face
	base       string // image every version is derived from
	logPath    string

	mu       sync.Mutex
	versions [][2]string // image id, ref of each version built

	opts         stackOptions
	redisURL     string
	redisPrefix  string
	webhookToken string
	port         int       // the sidecar's, kept for a restart
	proc         *exec.Cmd // the running sidecar
}

// stackOptions change how the sidecar is started; the zero value is the
// plain stack of newStack.
type stackOptions struct {
	// env returns extra environment for the sidecar (e.g. DOCKER_HOST);
	// it wins over the stack's own.
	env func(s *stack) []string
	// args returns extra sidecar flags.
	args func(s *stack) []string
	// apiToken and webhookToken replace the stack's tokens when set.
	apiToken, webhookToken string
	// tokenFiles passes the tokens as TINYFORGE_*_TOKEN_FILE files.
	tokenFiles bool
	// redisURL replaces the stack's private Redis (a test that kills it).
	redisURL string
	// manual starts no sidecar: the test runs its own (see launch).
	manual bool
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return newStackWith(t, stackOptions{})
}

// newStackServices is a stack whose sidecars the test starts, kills and
// restarts itself (see launch), on the Redis at redisURL.
func newStackServices(t *testing.T, redisURL string) *stack {
	t.Helper()
	return newStackWith(t, stackOptions{redisURL: redisURL, manual: true})
}

func newStackWith(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	cli := testsvc.Docker(t)
	n := stackSeq.Add(1)
	s := &stack{
		t:        t,
		cli:      cli,
		apiToken: "api-" + testsvc.RunID,
		network:  fmt.Sprintf("tf-e2e-%s-%d", testsvc.RunID, n),
		scope:    fmt.Sprintf("e2e-%s-%d", testsvc.RunID, n),
		workload: fmt.Sprintf("e2e%s%d", testsvc.RunID, n),
		opts:     opts,
	}
	if opts.apiToken != "" {
		s.apiToken = opts.apiToken
	}
	s.host = s.workload + ".e2e.test"
	s.redisURL, s.redisPrefix = opts.redisURL, "tf-e2e:"+s.workload+":"
	if s.redisURL == "" {
		s.redisURL = testsvc.Redis(t).URL
	}
	s.caddy = testsvc.Caddy(t)
	port := testsvc.FreePort(t)
	s.port = port
	s.sidecarURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	webhookToken := "hook-" + testsvc.RunID
	if opts.webhookToken != "" {
		webhookToken = opts.webhookToken
	}
	s.webhookToken = webhookToken
	s.hooks = newHookRecorder(t, s.sidecarURL+"/v1/hooks/distribution")
	s.registry = testsvc.Registry(t, &testsvc.Notify{URL: s.hooks.URL(), Token: webhookToken})
	s.repo = s.registry.Ref("e2e-" + s.workload + "/app")
	// Cleanups run last-registered first: the sidecar stops, then its
	// containers go, then the version images they ran, then the base image
	// those were committed from.
	s.base = fmt.Sprintf("tf-e2e-base-%s-%d:latest", testsvc.RunID, n)
	testsvc.BuildImage(t, cli, s.base, nil)
	t.Cleanup(s.removeVersions)
	t.Cleanup(s.removeWorkloadContainers) // runs after the sidecar stops

	s.logPath = filepath.Join(t.TempDir(), "sidecar.log")
	if !opts.manual {
		s.startSidecar(s.redisURL, port, webhookToken)
	}
	return s
}

// sidecarBin is the tinyforge binary the stacks run: $TINYFORGE_BIN when
// set (the benchmark runs a release build, or an older commit's), else a
// race-enabled build of this tree.
var sidecarBin = sync.OnceValues(func() (string, error) {
	if bin := os.Getenv("TINYFORGE_BIN"); bin != "" {
		return filepath.Abs(bin)
	}
	dir, err := os.MkdirTemp("", "tinyforge-e2e-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tinyforge")
	cmd := exec.Command("go", "build", "-race", "-o", bin, "github.com/tinyforge/tinyforge/cmd/tinyforge")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func (s *stack) startSidecar(redisURL string, port int, webhookToken string) {
	t := s.t
	bin, err := sidecarBin()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644) // a restart appends
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, s.sidecarArgs(port)...)
	// Secrets and the Redis URL come through the environment twins.
	cmd.Env = append(os.Environ(), "TINYFORGE_REDIS_URL="+redisURL)
	if s.opts.tokenFiles {
		dir := t.TempDir()
		hook, api := filepath.Join(dir, "webhook-token"), filepath.Join(dir, "api-token")
		if os.WriteFile(hook, []byte(webhookToken+"\n"), 0o600) != nil || os.WriteFile(api, []byte(s.apiToken+"\n"), 0o600) != nil {
			t.Fatal("write token files")
		}
		cmd.Env = append(cmd.Env, "TINYFORGE_WEBHOOK_TOKEN_FILE="+hook, "TINYFORGE_API_TOKEN_FILE="+api)
	} else {
		cmd.Env = append(cmd.Env, "TINYFORGE_WEBHOOK_TOKEN="+webhookToken, "TINYFORGE_API_TOKEN="+s.apiToken)
	}
	if s.opts.args != nil {
		cmd.Args = append(cmd.Args, s.opts.args(s)...)
	}
	if s.opts.env != nil {
		cmd.Env = append(cmd.Env, s.opts.env(s)...)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.proc = cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil { // not already killed by the test
			_ = cmd.Process.Signal(os.Interrupt)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("sidecar exited uncleanly on SIGINT: %v", err)
				}
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Error("sidecar did not stop within 30s of SIGINT")
			}
		}
		_ = logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(s.logPath)
			if len(out) > 20000 {
				out = out[len(out)-20000:]
			}
			t.Logf("sidecar log (tail):\n%s", out)
		}
	})
	eventually(t, 15*time.Second, "sidecar healthy", func() bool {
		resp, err := http.Get(s.sidecarURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// sidecarArgs is the command line of a sidecar of this stack.
func (s *stack) sidecarArgs(port int) []string {
	return []string{"sidecar",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--redis-prefix", s.redisPrefix,
		"--proxy", "caddy",
		"--caddy-admin", s.caddy.AdminURL,
		"--caddy-listen", s.caddy.HTTPAddr,
		"--caddy-probe", "http://" + s.caddy.HTTPAddr,
		"--network", s.network,
		"--domain", "e2e.test",
		"--drain", "1s",
		"--stop-grace", "5s",
		"--reconcile-interval", "1s",
		"--watch", "1s",
		"--labels", testsvc.RunLabel + "=" + testsvc.RunID,
		"--scope", s.scope,
		"--log-format", "json", "--log-level", "debug",
	}
}

// controllerLabels are the labels of a controller declaring the workload.
func (s *stack) controllerLabels(extra map[string]string) map[string]string {
	w := "tinyforge.workloads." + s.workload + "."
	l := map[string]string{
		labels.Enable:             "true",
		labels.Scope:              s.scope,
		testsvc.RunLabel:          testsvc.RunID,
		"com.docker.compose.x":    "ignored",
		w + "image":               s.repo,
		w + "port":                "8080",
		w + "healthcheck":         "/health",
		w + "healthTimeout":       "5s",
		w + "faces.www.subdomain": s.workload,
	}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// startController runs a controller container carrying lbls. It never
// talks to Docker: it only carries labels.
func (s *stack) startController(name string, lbls map[string]string) string {
	t := s.t
	ctx := context.Background()
	resp, err := s.cli.ContainerCreate(ctx, &container.Config{Image: s.base, Labels: lbls}, nil, nil, nil,
		fmt.Sprintf("tf-e2e-ctl-%s-%s", s.workload, name))
	if err != nil {
		t.Fatalf("create controller: %v", err)
	}
	t.Cleanup(func() { s.removeContainer(resp.ID) })
	if err := s.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start controller: %v", err)
	}
	return resp.ID
}

func (s *stack) removeContainer(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		s.t.Errorf("remove container %s: %v", id, err)
	}
}

// removeWorkloadContainers removes what the sidecar created for the
// workload, and its network.
func (s *stack) removeWorkloadContainers() {
	for _, c := range s.workloadContainers(true) {
		s.removeContainer(c.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.cli.NetworkRemove(ctx, s.network); err != nil && !cerrdefs.IsNotFound(err) {
		s.t.Errorf("remove network %s: %v", s.network, err)
	}
}

// workloadContainers lists the workload's managed containers.
func (s *stack) workloadContainers(all bool) []container.Summary {
	s.t.Helper()
	f := filters.NewArgs(
		filters.Arg("label", labels.Managed+"=true"),
		filters.Arg("label", labels.ManagedWorkload+"="+s.workload))
	cs, err := s.cli.ContainerList(context.Background(), container.ListOptions{All: all, Filters: f})
	if err != nil {
		s.t.Fatalf("list workload containers: %v", err)
	}
	return cs
}

// version derives an image of the workload for tag from the base image:
// a committed container, so no build context is uploaded per version.
func (s *stack) version(tag string, env ...string) string {
	t := s.t
	ctx := context.Background()
	ref := s.repo + ":" + tag
	c, err := s.cli.ContainerCreate(ctx, &container.Config{Image: s.base}, nil, nil, nil, "")
	if err != nil {
		t.Fatalf("create for commit: %v", err)
	}
	defer s.removeContainer(c.ID)
	changes := []string{"ENV APP_VERSION=" + tag, "LABEL " + testsvc.RunLabel + "=" + testsvc.RunID}
	for _, e := range env {
		changes = append(changes, "ENV "+e)
	}
	img, err := s.cli.ContainerCommit(ctx, c.ID, container.CommitOptions{Reference: ref, Changes: changes})
	if err != nil {
		t.Fatalf("commit %s: %v", ref, err)
	}
	s.mu.Lock()
	s.versions = append(s.versions, [2]string{img.ID, ref})
	s.mu.Unlock()
	return ref
}

// removeVersions removes the images version made, once no container runs them.
func (s *stack) removeVersions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.versions {
		_, err := s.cli.ImageRemove(context.Background(), v[0], image.RemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			s.t.Errorf("remove image %s: %v", v[1], err)
		}
	}
}

// push pushes a version to the registry, which notifies the sidecar.
func (s *stack) push(tag string, env ...string) time.Time {
	ref := s.version(tag, env...)
	testsvc.Push(s.t, s.cli, ref)
	return time.Now()
}

// get fetches path through Caddy for the workload's public host.
func (s *stack) get(client *http.Client, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.caddy.HTTPAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = s.host
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitServed waits until the public host serves version and returns when
// it first did.
func (s *stack) waitServed(version string, within time.Duration) time.Time {
	s.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var served time.Time
	eventually(s.t, within, version+" served through caddy", func() bool {
		code, body, err := s.get(client, "/")
		if err == nil && code == 200 && body == version {
			served = time.Now()
			return true
		}
		return false
	})
	return served
}

// status reads the sidecar's view of the workload through its API.
func (s *stack) status() workloadStatus {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.sidecarURL+"/v1/workloads", nil)
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET /v1/workloads: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Workloads map[string]workloadStatus `json:"workloads"`
		Problems  map[string][]string       `json:"problems"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("GET /v1/workloads: %d, %v", resp.StatusCode, err)
	}
	st := out.Workloads[s.workload]
	st.Declared = st.Config != nil
	st.Problems = out.Problems
	return st
}

// api calls a management endpoint and returns the status code.
func (s *stack) api(method, path string) int {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.sidecarURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type workloadStatus struct {
	Config    *json.RawMessage    `json:"config"`
	Instances []deployer.Instance `json:"instances"`
	Routes    []deployer.Route    `json:"routes"`
	History   []deployer.Event    `json:"history"`
	Declared  bool                `json:"-"`
	Problems  map[string][]string `json:"-"`
}

// outcomes counts the workload's deploys by outcome for one image;
// records of deliveries (accepted, duplicate, ...) carry no deploy id.
func (st workloadStatus) outcomes(image string) map[string]int {
	out := map[string]int{}
	for _, ev := range st.History {
		if ev.Image == image && ev.Deploy != "" {
			o := ev.Outcome
			if strings.HasPrefix(o, "failed") {
				o = "failed"
			}
			out[o]++
		}
	}
	return out
}

// hookRecorder sits between the registry and the sidecar: it records every
// delivery (to replay it later) and forwards it unchanged.
type hookRecorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery

	// hold records deliveries and answers 202 without forwarding them,
	// until release; after, when set, runs once a delivery was forwarded,
	// before the registry gets the sidecar's answer.
	hold  bool
	held  []delivery
	after func(delivery)
}

type delivery struct {
	At          time.Time
	ContentType string
	Auth        string
	Body        []byte
	Status      int
}

func newHookRecorder(t *testing.T, target string) *hookRecorder {
	h := &hookRecorder{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := delivery{At: time.Now(), ContentType: r.Header.Get("Content-Type"), Auth: r.Header.Get("Authorization"), Body: body}
		h.mu.Lock()
		hold, after := h.hold, h.after
		if hold {
			h.held = append(h.held, d)
			h.got = append(h.got, d)
		}
		h.mu.Unlock()
		if hold {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		d.Status = d.send(target)
		h.mu.Lock()
		h.got = append(h.got, d)
		h.mu.Unlock()
		if after != nil {
			after(d)
		}
		if d.Status == 0 { // the sidecar is down: the registry retries
			d.Status = http.StatusBadGateway
		}
		w.WriteHeader(d.Status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookRecorder) URL() string { return h.srv.URL }

// send posts the delivery to url and returns the status (0 on error).
func (d delivery) send(url string) int {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Body))
	req.Header.Set("Content-Type", d.ContentType)
	req.Header.Set("Authorization", d.Auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// pushOf returns the first recorded delivery that carries a tagged
// manifest push of tag.
func (h *hookRecorder) pushOf(tag string) (delivery, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.got {
		pushes, _ := webhook.ParseDistribution(d.ContentType, d.Body)
		for _, p := range pushes {
			if p.Tag == tag {
				return d, true
			}
		}
	}
	return delivery{}, false
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
