package e2e

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/tinyforge/tinyforge/labels"
)

// TestPushToServed walks the whole path: a controller appears, pushes
// deploy blue-green through the registry's webhook, a load loop through
// Caddy sees no failure across five deploys, a failing health check leaves
// the previous version serving, and redelivered notifications deploy once.
func TestPushToServed(t *testing.T) {
	s := newStack(t)

	// A controller created while the sidecar runs is picked up from the
	// Docker events stream.
	created := time.Now()
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 5*time.Second, "workload declared", func() bool { return s.status().Declared })
	t.Logf("controller labels read %s after the controller was created", time.Since(created).Round(time.Millisecond))

	// v1: first deploy, from nothing to served.
	pushed := s.push("v1")
	served := s.waitServed("v1", 60*time.Second)
	t.Logf("v1: push to served %s", served.Sub(pushed).Round(time.Millisecond))

	// v2: blue-green; exactly one container remains.
	s.push("v2")
	s.waitServed("v2", 60*time.Second)
	s.waitContainers(1)

	t.Run("zero failed requests across five deploys", func(t *testing.T) {
		load := startLoad(s)
		var took []time.Duration
		for _, tag := range []string{"v3", "v4", "v5", "v6", "v7"} {
			s.push(tag)
			d := s.waitDelivery(tag)
			served := s.waitServed(tag, 60*time.Second)
			took = append(took, served.Sub(d.At))
			s.waitContainers(1)
		}
		sent, failed := load.stop()
		t.Logf("webhook delivered -> new version served: %v", took)
		var switched []time.Duration
		for _, ev := range s.status().History {
			if ev.Switched > 0 {
				switched = append(switched, ev.Switched.Round(time.Millisecond))
			}
		}
		t.Logf("health ok -> routes verified through caddy (deploy history, newest first): %v", switched)
		t.Logf("load through caddy during 5 deploys: %d requests sent (incl. %d slow 300 ms ones), %d failed", sent, load.slow.Load(), len(failed))
		if len(failed) > 0 {
			t.Errorf("%d of %d requests failed during deploys; first: %v", len(failed), sent, failed[:min(5, len(failed))])
		}
		if sent < 200 {
			t.Errorf("only %d requests sent: the load loop did not run", sent)
		}
	})

	t.Run("failing health check keeps the previous version", func(t *testing.T) {
		s.push("bad", "HEALTH=fail")
		bad := s.repo + ":bad"
		eventually(t, 30*time.Second, "failed deploy of :bad recorded", func() bool { return s.status().outcomes(bad)["failed"] == 1 })
		if code, body, err := s.get(http.DefaultClient, "/"); err != nil || code != 200 || body != "v7" {
			t.Fatalf("after failed deploy: %d %q %v, want v7 still served", code, body, err)
		}
		cs := s.workloadContainers(true)
		if len(cs) != 1 || cs[0].Labels[labels.ManagedTag] != "v7" {
			t.Fatalf("containers after failed deploy: %d (%v), want only v7", len(cs), tags(cs))
		}
	})

	t.Run("ten deliveries of one push deploy once", func(t *testing.T) {
		s.push("v8")
		d := s.waitDelivery("v8")
		var wg sync.WaitGroup
		for range 9 {
			wg.Go(func() {
				if code := d.send(s.sidecarURL + "/v1/hooks/distribution"); code != http.StatusAccepted {
					t.Errorf("redelivery answered %d, want 202", code)
				}
			})
		}
		wg.Wait()
		s.waitServed("v8", 60*time.Second)
		s.waitContainers(1)
		time.Sleep(2 * time.Second) // let any extra deploy show itself
		got := s.status().outcomes(s.repo + ":v8")
		if got["deployed"] != 1 || len(got) != 1 {
			t.Fatalf("history for v8 after 10 deliveries = %v, want exactly one deployed", got)
		}
		if cs := s.workloadContainers(true); len(cs) != 1 || cs[0].Labels[labels.ManagedTag] != "v8" {
			t.Fatalf("containers: %v, want only v8", tags(cs))
		}
	})
}

// waitContainers waits until the workload has exactly n containers.
func (s *stack) waitContainers(n int) {
	s.t.Helper()
	eventually(s.t, 30*time.Second, "workload containers settle", func() bool { return len(s.workloadContainers(true)) == n })
}

// waitDelivery waits until the registry delivered the push of tag.
func (s *stack) waitDelivery(tag string) delivery {
	s.t.Helper()
	var d delivery
	eventually(s.t, 30*time.Second, "registry notification for "+tag, func() bool {
		var ok bool
		d, ok = s.hooks.pushOf(tag)
		return ok
	})
	return d
}

// load sends requests through Caddy until stopped: one client loops
// quick GETs on a keep-alive connection, another loops 300 ms requests so
// requests are in flight at every switch.
type load struct {
	stopped chan struct{}
	wg      sync.WaitGroup
	sent    atomic.Int64
	slow    atomic.Int64
	mu      sync.Mutex
	failed  []string
}

func startLoad(s *stack) *load {
	l := &load{stopped: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	run := func(path string, pause time.Duration, counter *atomic.Int64) {
		defer l.wg.Done()
		for {
			select {
			case <-l.stopped:
				return
			case <-time.After(pause):
			}
			l.sent.Add(1)
			if counter != nil {
				counter.Add(1)
			}
			code, body, err := s.get(client, path)
			if err != nil || code != http.StatusOK || len(body) < 2 || body[0] != 'v' {
				l.mu.Lock()
				l.failed = append(l.failed, time.Now().Format("15:04:05.000")+" "+path+": "+describe(code, body, err))
				l.mu.Unlock()
			}
		}
	}
	l.wg.Add(3)
	go run("/", 5*time.Millisecond, nil)
	go run("/", 5*time.Millisecond, nil)
	go run("/slow?ms=300", 0, &l.slow)
	return l
}

func (l *load) stop() (int64, []string) {
	close(l.stopped)
	l.wg.Wait()
	return l.sent.Load(), l.failed
}

func describe(code int, body string, err error) string {
	if err != nil {
		return err.Error()
	}
	if len(body) > 80 {
		body = body[:80]
	}
	return http.StatusText(code) + " " + body
}

// tags lists the tag label of each container.
func tags(cs []container.Summary) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Labels[labels.ManagedTag])
	}
	return out
}
