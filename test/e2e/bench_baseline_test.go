package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	caddyplug "github.com/tinyforge/tinyforge/proxyplug/caddy"
)

// docker runs the docker CLI, as a user would, and fails the test on error.
func (s *stack) docker(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// dockerRunArgs are the arguments of `docker run -d` for the app image
// ref, published on the loopback port.
func dockerRunArgs(name string, port int, ref string) []string {
	return []string{"run", "-d", "--name", name, "--label", testsvc.RunLabel + "=" + testsvc.RunID,
		"-p", fmt.Sprintf("127.0.0.1:%d:8080", port), ref}
}

// floor is the time from `docker run -d` of the app image (present
// locally) to its first 200 on its published port: what no deploy tool
// can beat on this machine.
func (s *stack) floor(ref string, n int) time.Duration {
	s.t.Helper()
	name := fmt.Sprintf("tf-bench-floor-%s-%d", testsvc.RunID, n)
	port := testsvc.FreePort(s.t)
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	s.docker(dockerRunArgs(name, port, ref)...)
	defer s.docker("rm", "-f", name)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for time.Since(start) < 30*time.Second {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	s.t.Fatalf("floor: %s never answered 200", ref)
	return 0
}

// stopStart is the update watchtower and `docker compose up -d
// --force-recreate` make: stop the running container, remove it, run the
// new image under the same name and port. Caddy routes host to the
// published port throughout.
type stopStart struct {
	s     *stack
	name  string
	port  int
	host  string
	route deployer.Route
	proxy *caddyplug.Plugin
}

// newStopStart runs ref and routes a host of its own to it through the
// stack's Caddy (the sidecar's server, which must exist already).
func newStopStart(s *stack, ref, version string) *stopStart {
	s.t.Helper()
	b := &stopStart{
		s: s, name: "tf-bench-stopstart-" + testsvc.RunID, port: testsvc.FreePort(s.t),
		host:  "stopstart-" + s.host,
		proxy: caddyplug.New(caddyplug.Options{AdminURL: s.caddy.AdminURL, Listen: []string{s.caddy.HTTPAddr}}),
	}
	b.route = deployer.Route{ID: "tf-bench-stopstart", Workload: "bench-stopstart", Face: "www", Host: b.host,
		Upstream: fmt.Sprintf("127.0.0.1:%d", b.port), Container: "stopstart", Port: 8080}
	s.docker(dockerRunArgs(b.name, b.port, ref)...)
	s.t.Cleanup(func() {
		_ = exec.Command("docker", "rm", "-f", b.name).Run()
		_ = b.proxy.Delete(context.Background(), b.route)
	})
	if err := b.proxy.Upsert(context.Background(), b.route); err != nil {
		s.t.Fatalf("route the stop-then-start host: %v", err)
	}
	b.waitBody(version, time.Now(), 30*time.Second)
	return b
}

// update replaces the container with ref while 100 requests a second go
// through Caddy, and returns the time from the stop to version served and
// the requests that failed (sent from 1 s before to 1 s after).
func (b *stopStart) update(ref, version string) (took time.Duration, sent, failed int64) {
	s := b.s
	load := startSteady(s, b.host, 100)
	time.Sleep(time.Second)
	start := time.Now()
	s.docker("stop", "-t", "10", b.name)
	s.docker("rm", b.name)
	s.docker(dockerRunArgs(b.name, b.port, ref)...)
	took = b.waitBody(version, start, 60*time.Second)
	time.Sleep(time.Second)
	sent, failed = load.end()
	return took, sent, failed
}

// waitBody polls the host through Caddy until it serves version.
func (b *stopStart) waitBody(version string, since time.Time, within time.Duration) time.Duration {
	client := &http.Client{Timeout: time.Second}
	for time.Since(since) < within {
		if code, body, err := b.s.getHost(client, b.host, "/"); err == nil && code == 200 && body == version {
			return time.Since(since)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.s.t.Fatalf("stop-then-start: %s not served within %s", version, within)
	return 0
}
