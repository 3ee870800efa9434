// Package ui drives the status page in a real browser (Debian's chromium,
// through chromedp) against the real binary, Docker Engine, registry,
// Redis and Caddy, all private to the test. It is its own package so it
// runs in parallel with test/e2e.
package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// stack is one sidecar with its registry, Redis, Caddy and network, and
// one workload declared by a controller.
type stack struct {
	t          *testing.T
	cli        *client.Client
	caddy      *testsvc.CaddyServer
	registry   *testsvc.RegistryServer
	sidecarURL string
	apiToken   string
	network    string
	scope      string
	workload   string
	host       string
	repo       string
	base       string
	sidecar    *exec.Cmd
	exited     chan struct{}
	images     []string // ids of the versions pushed
}

func newStack(t *testing.T) *stack {
	t.Helper()
	cli := testsvc.Docker(t)
	s := &stack{
		t: t, cli: cli,
		apiToken: "ui-api-" + testsvc.RunID,
		network:  "tf-ui-" + testsvc.RunID,
		scope:    "ui-" + testsvc.RunID,
		workload: "ui" + testsvc.RunID,
	}
	s.host = s.workload + ".ui.test"
	redis := testsvc.Redis(t)
	s.caddy = testsvc.Caddy(t)
	port := testsvc.FreePort(t)
	s.sidecarURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	hookToken := "ui-hook-" + testsvc.RunID
	s.registry = testsvc.Registry(t, &testsvc.Notify{URL: s.sidecarURL + "/v1/hooks/distribution", Token: hookToken})
	s.repo = s.registry.Ref("ui-" + s.workload + "/app")
	s.base = "tf-ui-base-" + testsvc.RunID + ":latest"
	testsvc.BuildImage(t, cli, s.base, nil)
	t.Cleanup(s.removeImages)                             // after the containers that ran them
	testsvc.RemoveWorkload(t, cli, s.workload, s.network) // after the sidecar stops

	bin := buildBinary(t)
	logPath := filepath.Join(t.TempDir(), "sidecar.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "sidecar",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--redis-url", redis.URL, "--redis-prefix", "tf-ui:"+testsvc.RunID+":",
		"--proxy", "caddy", "--caddy-admin", s.caddy.AdminURL, "--caddy-listen", s.caddy.HTTPAddr,
		"--caddy-probe", "http://"+s.caddy.HTTPAddr,
		"--network", s.network, "--domain", "ui.test", "--scope", s.scope,
		"--drain", "1s", "--stop-grace", "5s", "--reconcile-interval", "1s", "--watch", "1s",
		"--labels", testsvc.RunLabel+"="+testsvc.RunID, "--log-format", "json")
	cmd.Env = append(os.Environ(), "TINYFORGE_API_TOKEN="+s.apiToken, "TINYFORGE_WEBHOOK_TOKEN="+hookToken)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.sidecar, s.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.stopSidecar(30 * time.Second)
		_ = logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("sidecar log (tail):\n%s", out[max(0, len(out)-15000):])
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
	s.startController()
	return s
}

// stopSidecar sends SIGINT and reports how long the sidecar took to exit.
func (s *stack) stopSidecar(within time.Duration) time.Duration {
	start := time.Now()
	select {
	case <-s.exited:
		return 0
	default:
	}
	_ = s.sidecar.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(within):
		_ = s.sidecar.Process.Kill()
		<-s.exited
		s.t.Errorf("sidecar did not stop within %s of SIGINT", within)
	}
	return time.Since(start)
}

var buildOnce struct {
	bin string
	err error
}

// buildBinary builds tinyforge once per test process.
func buildBinary(t *testing.T) string {
	t.Helper()
	if buildOnce.bin == "" && buildOnce.err == nil {
		dir, err := os.MkdirTemp("", "tinyforge-ui-bin-")
		if err == nil {
			buildOnce.bin = filepath.Join(dir, "tinyforge")
			out, berr := exec.Command("go", "build", "-o", buildOnce.bin, "github.com/tinyforge/tinyforge/cmd/tinyforge").CombinedOutput()
			if berr != nil {
				err = fmt.Errorf("go build: %v\n%s", berr, out)
			}
		}
		buildOnce.err = err
	}
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Dir(buildOnce.bin)) })
	return buildOnce.bin
}

// startController runs a container carrying the workload's labels.
func (s *stack) startController() {
	w := "tinyforge.workloads." + s.workload + "."
	lbls := map[string]string{
		labels.Enable: "true", labels.Scope: s.scope, testsvc.RunLabel: testsvc.RunID,
		w + "image": s.repo, w + "port": "8080", w + "healthcheck": "/health", w + "healthTimeout": "5s",
		w + "faces.www.subdomain": s.workload,
	}
	ctx := context.Background()
	resp, err := s.cli.ContainerCreate(ctx, &container.Config{Image: s.base, Labels: lbls}, nil, nil, nil, "tf-ui-ctl-"+s.workload)
	if err != nil {
		s.t.Fatalf("create controller: %v", err)
	}
	s.t.Cleanup(func() { s.remove(resp.ID) })
	if err := s.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		s.t.Fatalf("start controller: %v", err)
	}
}

func (s *stack) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		s.t.Errorf("remove container %s: %v", id, err)
	}
}

// push commits a version of the base image answering tag and pushes it:
// the registry notifies the sidecar.
func (s *stack) push(tag string) {
	t := s.t
	ctx := context.Background()
	ref := s.repo + ":" + tag
	c, err := s.cli.ContainerCreate(ctx, &container.Config{Image: s.base}, nil, nil, nil, "")
	if err != nil {
		t.Fatalf("create for commit: %v", err)
	}
	defer s.remove(c.ID)
	img, err := s.cli.ContainerCommit(ctx, c.ID, container.CommitOptions{Reference: ref,
		Changes: []string{"ENV APP_VERSION=" + tag, "LABEL " + testsvc.RunLabel + "=" + testsvc.RunID}})
	if err != nil {
		t.Fatalf("commit %s: %v", ref, err)
	}
	s.images = append(s.images, img.ID)
	testsvc.Push(t, s.cli, ref)
}

func (s *stack) removeImages() {
	for _, id := range s.images {
		_, err := s.cli.ImageRemove(context.Background(), id, image.RemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			s.t.Errorf("remove image %s: %v", id, err)
		}
	}
}

// served is what the workload's public host answers through Caddy.
func (s *stack) served() string {
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.caddy.HTTPAddr+"/", nil)
	req.Host = s.host
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

func (s *stack) waitServed(version string, within time.Duration) {
	s.t.Helper()
	eventually(s.t, within, version+" served through caddy", func() bool { return s.served() == version })
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
