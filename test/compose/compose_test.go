package compose

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestComposeExample is README's quick start, run as a user would: `up
// -d`, push v1 and v2 of an app to the bundled registry, and the edge
// serves each over HTTPS. Then the trust boundaries, a sidecar restart
// mid-deploy, `down` and `up` again, and a controller naming a network
// outside --allowed-networks.
func TestComposeExample(t *testing.T) {
	if testing.Short() {
		t.Skip("compose e2e: builds images and runs the whole stack")
	}
	cli := testsvc.Docker(t)
	images := append(standins(t, cli), "TINYFORGE_IMAGE="+makeImage(t, cli))
	s := newStack(t, cli, images)
	defer s.remove()
	www := "www." + s.domain
	version := func(v string) {
		t.Helper()
		ref := s.repo + ":" + v
		testsvc.BuildImageSpec(t, cli, ref, testsvc.ImageSpec{Env: map[string]string{"APP_VERSION": v}})
	}
	version("v1")

	s.createNetwork()
	up := time.Now()
	s.mustCompose("up", "-d")
	waitRegistry(t, s)
	testsvc.Push(t, cli, s.repo+":v1")
	s.trustEdge()
	s.waitServed(www, "v1", 2*time.Minute)
	firstServed := time.Since(up)
	t.Logf("MEASURED: from `up -d` to v1 served over HTTPS through the edge: %s", firstServed.Round(100*time.Millisecond))

	step(t, "switch under load", func() {
		version("v2")
		sent, failed, samples := load(s, www, func() {
			testsvc.Push(t, cli, s.repo+":v2")
			s.waitServed(www, "v2", 2*time.Minute)
			waitOne(t, s, "v2", time.Minute) // the old container drained and removed
		})
		t.Logf("MEASURED: switch v1 -> v2 at a steady load: %d requests, %d failed", sent, failed)
		if failed != 0 || sent < 50 {
			t.Errorf("%d of %d requests failed during the switch (want 0 of at least 50): %v", failed, sent, samples)
		}
	})

	step(t, "webhook digests confirmed at the registry", func() {
		// The sidecar reaches the registry on the hooks network
		// (TINYFORGE_REGISTRY_ENDPOINTS), so every push's digest was checked
		// and deployed by digest, never left to a pull of the tag.
		if got := lines(s.logs(), "cannot be checked against the registry"); len(got) > 0 {
			t.Errorf("the sidecar could not ask the registry about a webhook's digest:\n%s", strings.Join(got, "\n"))
		}
	})

	step(t, "isolation", func() { isolation(t, s) })

	step(t, "forbidden network", func() {
		ctl := controller(t, s, map[string]string{
			"tinyforge.settings.network":          s.project + "_control",
			"tinyforge.workloads.evil.image":      s.repo,
			"tinyforge.workloads.evil.port":       "8080",
			"tinyforge.workloads.evil.defaulttag": "v2",
		})
		want := fmt.Sprintf(`tinyforge.settings.network: \"%s_control\" is not among the sidecar's --allowed-networks (%s-workloads): workload evil left out`, s.project, s.project)
		deadline := time.Now().Add(30 * time.Second)
		for len(lines(s.logs(), want, ctl)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the sidecar did not report the forbidden network; want a log line with %s", want)
			}
			time.Sleep(300 * time.Millisecond)
		}
		for _, c := range s.workloads(context.Background(), true) {
			if c.Labels["tinyforge.workload"] == "evil" {
				t.Errorf("a container of the refused workload exists: %s", c.Names)
			}
		}
	})

	step(t, "restart mid-deploy", func() {
		version("v3")
		testsvc.Push(t, cli, s.repo+":v3")
		deadline := time.Now().Add(time.Minute)
		for !hasTag(s, "v3") {
			if time.Now().After(deadline) {
				t.Fatal("no v3 container was created")
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.mustCompose("restart", "tinyforge")
		tag := waitOne(t, s, "", 2*time.Minute)
		s.waitServed(www, tag, time.Minute)
		t.Logf("converged on %s after the restart", tag)
	})

	step(t, "down and up keep serving", func() {
		before := s.workloads(context.Background(), false)
		if len(before) != 1 {
			t.Fatalf("%d running workload containers before down, want 1", len(before))
		}
		tag := before[0].Labels["tinyforge.tag"]
		s.mustCompose("down")
		again := time.Now()
		s.mustCompose("up", "-d")
		s.waitServed(www, tag, 2*time.Minute)
		took := time.Since(again)
		after := s.workloads(context.Background(), false)
		if len(after) != 1 || after[0].ID != before[0].ID {
			t.Errorf("after down/up: containers %v, want the same one (%s) still serving, not a redeploy", names(after), before[0].Names)
		}
		t.Logf("MEASURED: served again %s after the start of `up -d`, by the same container", took.Round(100*time.Millisecond))
	})
}

// step runs one stage of the scenario. The stages share one stack and
// build on each other, so they are not subtests: the first failure ends
// the scenario, and the stack's helpers fail the test itself.
func step(t *testing.T, name string, f func()) {
	t.Helper()
	t.Logf("== %s", name)
	start := time.Now()
	f()
	t.Logf("== %s: done in %s", name, time.Since(start).Round(100*time.Millisecond))
}

// waitRegistry waits for the registry's published port.
func waitRegistry(t *testing.T, s *stack) {
	t.Helper()
	host := strings.TrimSuffix(s.repo, "/acme/web")
	if err := testsvc.WaitTCP(host, 30*time.Second); err != nil {
		t.Fatalf("registry %s: %v", host, err)
	}
}

// load sends GETs for host through the edge, one every 20 ms, while during
// runs, and returns how many were sent and failed (an error, a non-200 or
// a body that is no version), with up to 5 failures as samples.
func load(s *stack, host string, during func()) (sent, failed int64, samples []string) {
	var sentN, failedN atomic.Int64
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	c := s.client()
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			sentN.Add(1)
			code, body, err := s.get(c, host)
			if err != nil || code != 200 || !strings.HasPrefix(body, "v") {
				failedN.Add(1)
				mu.Lock()
				if len(samples) < 5 {
					samples = append(samples, fmt.Sprintf("%d %q %v", code, body, err))
				}
				mu.Unlock()
			}
		}
	})
	during()
	time.Sleep(time.Second) // keep the load on past the old container's removal
	close(stop)
	wg.Wait()
	return sentN.Load(), failedN.Load(), samples
}

// waitOne waits until exactly one workload container exists and runs
// (of tag, when given) and returns its tag.
func waitOne(t *testing.T, s *stack, tag string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var cs []container.Summary
	for time.Now().Before(deadline) {
		cs = s.workloads(context.Background(), true)
		if len(cs) == 1 && cs[0].State == "running" && (tag == "" || cs[0].Labels["tinyforge.tag"] == tag) {
			return cs[0].Labels["tinyforge.tag"]
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("workload containers %v, want exactly one running (tag %q)", names(cs), tag)
	return ""
}

func hasTag(s *stack, tag string) bool {
	for _, c := range s.workloads(context.Background(), true) {
		if c.Labels["tinyforge.tag"] == tag {
			return true
		}
	}
	return false
}

func names(cs []container.Summary) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s(%s,%s)", strings.Join(c.Names, ","), c.Labels["tinyforge.tag"], c.State))
	}
	return out
}

// controller starts a controller of the stack's scope with labels, on the
// default bridge (controllers need no network), running the app image,
// and removes it at the end. It returns the container name.
func controller(t *testing.T, s *stack, labels map[string]string) string {
	t.Helper()
	name := s.project + "-evil-controller"
	labels["tinyforge.enable"] = "true"
	labels["tinyforge.scope"] = s.project
	labels[testsvc.RunLabel] = testsvc.RunID
	ctx := context.Background()
	c, err := s.cli.ContainerCreate(ctx, &container.Config{Image: s.repo + ":v1", Labels: labels},
		&container.HostConfig{}, &network.NetworkingConfig{}, nil, name)
	if err != nil {
		t.Fatalf("create controller: %v", err)
	}
	t.Cleanup(func() { _ = s.cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}) })
	if err := s.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start controller: %v", err)
	}
	return name
}
