package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// redisProc is a redis-server the test can kill and start again, empty,
// on the same port: Redis lost, then back with nothing.
type redisProc struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisProc {
	r := &redisProc{t: t, port: testsvc.FreePort(t)}
	r.start()
	return r
}

func (r *redisProc) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisProc) start() {
	r.t.Helper()
	bin := testsvc.LookBinary(r.t, "redis-server")
	r.cmd = testsvc.StartProcess(r.t, r.t.TempDir(), bin,
		"--save", "", "--appendonly", "no", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1")
	if err := testsvc.WaitTCP(fmt.Sprintf("127.0.0.1:%d", r.port), 10*time.Second); err != nil {
		r.t.Fatal(err)
	}
}

func (r *redisProc) kill() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// TestRedisLoss flushes Redis while the workload is served, then kills
// it and brings it back empty. The data plane never notices (a request
// loop through Caddy sees no failure), webhooks answer 503 while Redis is
// down, and the state is rebuilt from the containers' labels within one
// reconcile interval each time.
func TestRedisLoss(t *testing.T) {
	redis := startRedis(t)
	s := newStackServices(t, redis.url())
	rc := s.redisClient()
	p := s.launch(procOpts{})
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	digest := s.pushDigest("v1")
	s.waitServed("v1", 60*time.Second)
	s.waitConverged(p.url, rc, "v1", 30*time.Second)
	const interval = time.Second // --reconcile-interval of the stack
	load := startLoad(s)

	if err := rc.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	flushed := s.waitConverged(p.url, rc, "v1", 30*time.Second)
	t.Logf("FLUSHALL -> instances and routes rebuilt from labels in %s (reconcile interval %s)", flushed.Round(10*time.Millisecond), interval)
	if flushed > interval+time.Second {
		t.Errorf("state rebuilt %s after the flush, want within one reconcile interval (%s, +1 s of slack)", flushed, interval)
	}

	redis.kill()
	if code := s.notify(p.url, "v1", digest); code != http.StatusServiceUnavailable {
		t.Errorf("webhook while Redis is down answered %d, want 503", code)
	}
	time.Sleep(3 * interval) // a few reconcile passes fail meanwhile; routes must not move
	code, body, err := s.get(&http.Client{Timeout: 2 * time.Second}, "/")
	if err != nil || code != 200 || body != "v1" {
		t.Fatalf("with Redis down: %d %q %v, want v1 served", code, body, err)
	}
	redis.start()
	back := time.Now()
	s.waitConverged(p.url, rc, "v1", 30*time.Second)
	rebuilt := time.Since(back)
	t.Logf("Redis back empty -> state rebuilt in %s", rebuilt.Round(10*time.Millisecond))
	if code := s.notify(p.url, "v1", digest); code != http.StatusAccepted {
		t.Errorf("webhook after Redis came back answered %d, want 202", code)
	}

	sent, failed := load.stop()
	t.Logf("load through caddy: %d requests (%d slow), %d failed", sent, load.slow.Load(), len(failed))
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed; first: %v", len(failed), sent, failed[:min(5, len(failed))])
	}
	if sent < 100 {
		t.Errorf("only %d requests sent: the load loop did not run", sent)
	}
}
