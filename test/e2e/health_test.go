package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestHealthOptions deploys through the real registry, Docker Engine and
// Caddy under each health option, changing the controller's labels
// between steps:
//
//   - an app that boots in 4 s, past healthTimeout 2 s, fails cleanly (the
//     previous version serves, its container is gone); with
//     healthStartPeriod 5 s the same image deploys;
//   - healthcheck tcp deploys (a connection to the port suffices);
//   - healthcheck docker deploys an image whose HEALTHCHECK reports
//     healthy, and fails an image without one, saying so.
func TestHealthOptions(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	rc := s.redisClient()
	p := s.launch(procOpts{})
	w := "tinyforge.workloads." + s.workload + "."
	ctl := s.startController("a", s.controllerLabels(map[string]string{w + "healthTimeout": "2s"}))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	s.waitConverged(p.url, rc, "v1", 30*time.Second)

	// relabel replaces the controller and waits until the sidecar has the
	// new labels.
	n := 0
	relabel := func(extra map[string]string, has func(cfg map[string]any) bool) {
		t.Helper()
		s.removeContainer(ctl)
		n++
		ctl = s.startController(string(rune('b'+n-1)), s.controllerLabels(extra))
		eventually(t, 15*time.Second, "new labels read", func() bool {
			st := s.status()
			var cfg map[string]any
			return st.Config != nil && json.Unmarshal(*st.Config, &cfg) == nil && has(cfg)
		})
	}

	t.Run("a slow boot needs healthStartPeriod", func(t *testing.T) {
		s.push("slow", "BOOT_DELAY=4s")
		eventually(t, 60*time.Second, "the slow deploy failed", func() bool { return s.status().outcomes(s.repo + ":slow")["failed"] == 1 })
		s.waitConverged(p.url, rc, "v1", 30*time.Second)
		ev := s.deployOf(p.url, "slow")
		if !strings.Contains(ev.Outcome, "health check") || !strings.Contains(ev.Outcome, "(healthTimeout 2s)") {
			t.Fatalf("slow boot recorded %q, want a health check failure naming healthTimeout 2s", ev.Outcome)
		}

		relabel(map[string]string{w + "healthTimeout": "2s", w + "healthStartPeriod": "5s"},
			func(cfg map[string]any) bool { return cfg["HealthStartPeriod"] == "5s" })
		start := time.Now()
		out, errOut, code := s.run(t, "deploy", s.workload, "slow", "--wait")
		if code != 0 {
			t.Fatalf("deploy slow --wait with a start period: exit %d\n%s%s", code, out, errOut)
		}
		s.waitConverged(p.url, rc, "slow", 30*time.Second)
		t.Logf("boot 4 s, healthTimeout 2 s, healthStartPeriod 5 s: deployed in %s", time.Since(start).Round(100*time.Millisecond))
	})

	t.Run("tcp", func(t *testing.T) {
		relabel(map[string]string{w + "healthcheck": "tcp"}, func(cfg map[string]any) bool { return cfg["Healthcheck"] == "tcp" })
		s.push("tcp", "HEALTH=fail") // its HTTP health path fails: only the TCP connection counts
		s.waitServed("tcp", 60*time.Second)
		s.waitConverged(p.url, rc, "tcp", 30*time.Second)
	})

	t.Run("docker", func(t *testing.T) {
		relabel(map[string]string{w + "healthcheck": "docker"}, func(cfg map[string]any) bool { return cfg["Healthcheck"] == "docker" })
		s.pushChanged("checked", `HEALTHCHECK --interval=1s --timeout=2s CMD ["/app", "-probe", "/health"]`)
		s.waitServed("checked", 60*time.Second)
		s.waitConverged(p.url, rc, "checked", 30*time.Second)
		if ev := s.deployOf(p.url, "checked"); ev.Outcome != "deployed" {
			t.Fatalf("checked: %q", ev.Outcome)
		}

		s.push("unchecked")
		eventually(t, 60*time.Second, "the unchecked deploy failed", func() bool {
			return s.status().outcomes(s.repo + ":unchecked")["failed"] == 1
		})
		s.waitConverged(p.url, rc, "checked", 30*time.Second)
		if ev := s.deployOf(p.url, "unchecked"); !strings.Contains(ev.Outcome, "declares no HEALTHCHECK") {
			t.Fatalf("image without HEALTHCHECK recorded %q, want it named", ev.Outcome)
		}
	})
}

// pushChanged pushes a version committed with extra Dockerfile
// instructions (HEALTHCHECK ...), as version does with ENV lines.
func (s *stack) pushChanged(tag string, changes ...string) {
	t := s.t
	ctx := context.Background()
	ref := s.repo + ":" + tag
	c, err := s.cli.ContainerCreate(ctx, &container.Config{Image: s.base}, nil, nil, nil, "")
	if err != nil {
		t.Fatalf("create for commit: %v", err)
	}
	defer s.removeContainer(c.ID)
	changes = append([]string{"ENV APP_VERSION=" + tag, "LABEL " + testsvc.RunLabel + "=" + testsvc.RunID}, changes...)
	img, err := s.cli.ContainerCommit(ctx, c.ID, container.CommitOptions{Reference: ref, Changes: changes})
	if err != nil {
		t.Fatalf("commit %s: %v", ref, err)
	}
	s.mu.Lock()
	s.versions = append(s.versions, [2]string{img.ID, ref})
	s.mu.Unlock()
	testsvc.Push(t, s.cli, ref)
}
