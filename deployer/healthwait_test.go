package deployer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/traefik/paerser/types"
)

// TestDeployProbesWhatTheLabelsAsk: the deploy's health check, and the
// post-switch watch, probe the kind, port and path of the labels.
func TestDeployProbesWhatTheLabelsAsk(t *testing.T) {
	for _, tc := range []struct {
		name        string
		healthcheck string
		port        int
		want        string // target after the container address
	}{
		{"path", "/health", 0, ":8080/health"},
		{"http", "http", 0, ":8080/"},
		{"path on the health port", "/ready", 9000, ":9000/ready"},
		{"tcp", "tcp", 0, ":8080"},
		{"tcp on the health port", "tcp", 5432, ":5432"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.w.Healthcheck, f.w.HealthPort = tc.healthcheck, tc.port
			f.engine.Watch, f.engine.WatchInterval = 30*time.Millisecond, 10*time.Millisecond
			var mu sync.Mutex
			var targets []string
			f.health = func(_ context.Context, target string) error {
				mu.Lock()
				defer mu.Unlock()
				targets = append(targets, target)
				return nil
			}
			res := f.mustDeploy(t, "v1")
			ip := f.docker.containers[res.Container].IPs["net"]
			scheme := "http://"
			if tc.healthcheck == "tcp" {
				scheme = "tcp://"
			}
			mu.Lock()
			defer mu.Unlock()
			if len(targets) < 2 { // the check, then the watch
				t.Fatalf("probed %v, want the health check and the watch", targets)
			}
			for _, got := range targets {
				if got != scheme+ip+tc.want {
					t.Fatalf("probed %q, want %q", got, scheme+ip+tc.want)
				}
			}
		})
	}
}

// TestStartPeriodExtendsTheHealthDeadline: an app that needs longer than
// healthTimeout to boot fails without a start period and deploys with
// one; the failure names the budget.
func TestStartPeriodExtendsTheHealthDeadline(t *testing.T) {
	for _, sp := range []time.Duration{0, 300 * time.Millisecond} {
		f := newFixture(t)
		f.w.HealthTimeout = types.Duration(100 * time.Millisecond)
		f.w.HealthStartPeriod = types.Duration(sp)
		var boot sync.Once
		var up time.Time
		f.health = func(ctx context.Context, _ string) error {
			boot.Do(func() { up = time.Now().Add(200 * time.Millisecond) }) // boots in 200 ms
			select {
			case <-ctx.Done():
				return ErrUnhealthy
			case <-time.After(time.Until(up)):
				return nil
			}
		}
		_, err := f.deploy(t, "v1")
		switch {
		case sp == 0 && (!errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "healthTimeout 100ms")):
			t.Fatalf("without a start period: %v, want unhealthy naming healthTimeout 100ms", err)
		case sp == 0 && len(f.docker.containers) != 0:
			t.Fatalf("failed deploy left %v", f.docker.containers)
		case sp > 0 && err != nil:
			t.Fatalf("with start period %s: %v", sp, err)
		}
	}
}

// TestDockerHealthcheck: healthcheck docker waits for Docker's own verdict
// on the image's HEALTHCHECK; unhealthy within the start period does not
// count, after it fails; an image without HEALTHCHECK fails at once,
// saying so.
func TestDockerHealthcheck(t *testing.T) {
	t.Run("healthy after starting", func(t *testing.T) {
		f := newFixture(t)
		f.w.Healthcheck, f.w.HealthInterval = "docker", types.Duration(20*time.Millisecond)
		f.docker.health = "starting"
		go func() {
			time.Sleep(100 * time.Millisecond)
			f.docker.set("c1", func(c *Container) { c.Health = "healthy" })
		}()
		f.health = func(context.Context, string) error { return errors.New("no HTTP or TCP probe for healthcheck docker") }
		if _, err := f.deploy(t, "v1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unhealthy in the start period does not count", func(t *testing.T) {
		f := newFixture(t)
		f.w.Healthcheck, f.w.HealthStartPeriod = "docker", types.Duration(time.Second)
		f.docker.health = "unhealthy"
		go func() {
			time.Sleep(200 * time.Millisecond)
			f.docker.set("c1", func(c *Container) { c.Health = "healthy" })
		}()
		if _, err := f.deploy(t, "v1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unhealthy fails", func(t *testing.T) {
		f := newFixture(t)
		f.w.Healthcheck = "docker"
		f.docker.health = "unhealthy"
		start := time.Now()
		_, err := f.deploy(t, "v1")
		if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "HEALTHCHECK failed") || time.Since(start) > 5*time.Second {
			t.Fatalf("err = %v after %v, want unhealthy at once", err, time.Since(start))
		}
	})
	t.Run("no HEALTHCHECK", func(t *testing.T) {
		f := newFixture(t)
		f.w.Healthcheck = "docker"
		_, err := f.deploy(t, "v1")
		if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "declares no HEALTHCHECK") {
			t.Fatalf("err = %v, want a clear error about the missing HEALTHCHECK", err)
		}
		if len(f.docker.containers) != 0 {
			t.Fatalf("failed deploy left %v", f.docker.containers)
		}
	})
}
