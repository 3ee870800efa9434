package e2e

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

// TestTwentyDeploysUnderLoad runs 20 consecutive blue-green deploys (on-
// demand rollbacks, alternating between two versions) under a steady load
// through Caddy that includes requests taking 2 s each, so requests are in
// flight at every switch and every stop of an old container: none fails.
func TestTwentyDeploysUnderLoad(t *testing.T) {
	s := newStack(t)
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	s.push("v2")
	s.waitServed("v2", 60*time.Second)
	s.waitContainers(1)

	var long, short atomic.Int64
	load := startLoadPaths(s, map[string]*atomic.Int64{
		"/":              nil,
		"/slow?ms=300":   &short,
		"/slow?ms=2000":  &long,
		"/slow?ms=2000&": &long, // a second 2 s client
	})
	const deploys = 20
	serving, other := "v2", "v1"
	var took []time.Duration
	for i := range deploys {
		before := countRollbacks(s)
		start := time.Now()
		if got := s.rollback(s.sidecarURL); got["tag"] != other {
			t.Fatalf("rollback %d targets %q, want %s", i, got["tag"], other)
		}
		eventually(t, 60*time.Second, "rollback deploy recorded", func() bool { return countRollbacks(s) > before })
		s.waitServed(other, 30*time.Second)
		s.waitContainers(1)
		took = append(took, time.Since(start).Round(100*time.Millisecond))
		serving, other = other, serving
	}
	sent, failed := load.stop()
	t.Logf("%d deploys, request -> settled: %v", deploys, took)
	t.Logf("load through caddy: %d requests, %d of them 300 ms and %d 2 s long, %d failed", sent, short.Load(), long.Load(), len(failed))
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed; first: %v", len(failed), sent, failed[:min(5, len(failed))])
	}
	if long.Load() < deploys {
		t.Errorf("only %d 2 s requests: not one in flight per deploy", long.Load())
	}
	for _, ev := range s.deploys(s.sidecarURL) {
		if ev.Source == "rollback" && ev.Outcome != deployer.OutcomeDeployed {
			t.Errorf("deploy %s: %s", ev.Deploy, ev.Outcome)
		}
	}
}

// countRollbacks counts the finished rollback deploys in the history.
func countRollbacks(s *stack) int {
	n := 0
	for _, ev := range s.deploys(s.sidecarURL) {
		if ev.Source == "rollback" {
			n++
		}
	}
	return n
}

// startLoadPaths runs one client per path through Caddy until stopped,
// each on its own keep-alive connection, counting requests per counter.
func startLoadPaths(s *stack, paths map[string]*atomic.Int64) *load {
	l := &load{stopped: make(chan struct{})}
	for path, counter := range paths {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-l.stopped:
					return
				case <-time.After(5 * time.Millisecond):
				}
				l.sent.Add(1)
				if counter != nil {
					counter.Add(1)
				}
				code, body, err := s.get(client, strings.TrimSuffix(path, "&"))
				if err != nil || code != http.StatusOK || len(body) < 2 || body[0] != 'v' {
					l.mu.Lock()
					l.failed = append(l.failed, time.Now().Format("15:04:05.000")+" "+path+": "+describe(code, body, err))
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}
