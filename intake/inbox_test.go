package intake

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testlog"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// distPush is a distribution notification of one tagged push of
// 127.0.0.1:5000/demo, with its own event id and timestamp.
func distPush(id, tag string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"events":[{"id":%q,"timestamp":%q,"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064x","repository":"demo","tag":%q},"request":{"host":"127.0.0.1:5000"}}]}`,
		id, at.Format(time.RFC3339Nano), len(tag)+int(at.UnixNano()%1000), tag))
}

func (f *hookFixture) postDist(body []byte) (int, intakeReply, string) {
	f.t.Helper()
	return f.post("/v1/hooks/distribution", body, map[string]string{
		"Content-Type": "application/vnd.docker.distribution.events.v1+json", "Authorization": "Bearer " + testSecret})
}

func demo() *labels.Workload { return &labels.Workload{Name: "demo", Image: "127.0.0.1:5000/demo"} }

// TestRedeliveriesDeployOnce: 50 concurrent deliveries of one notification
// store one request; the others are recorded as duplicates.
func TestRedeliveriesDeployOnce(t *testing.T) {
	f := newHookFixture(t, demo())
	f.consume()
	body := distPush("ev-1", "v1", time.Now())
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, duplicate := 0, 0
	for range 50 {
		wg.Go(func() {
			status, reply, raw := f.postDist(body)
			mu.Lock()
			defer mu.Unlock()
			if status != http.StatusAccepted {
				t.Errorf("status %d: %s", status, raw)
			}
			accepted += len(reply.Accepted)
			duplicate += len(reply.Duplicate)
		})
	}
	wg.Wait()
	if accepted != 1 || duplicate != 49 {
		t.Fatalf("accepted %d, duplicate %d; want 1 and 49", accepted, duplicate)
	}
	f.waitDeployed(1)
	time.Sleep(100 * time.Millisecond)
	if got := f.deployedNow(); len(got) != 1 || got[0].Tag != "v1" || got[0].Delivery != "ev-1" || !strings.HasPrefix(got[0].Digest, "sha256:") {
		t.Fatalf("deployed %+v", got)
	}
	counts := map[string]int{}
	for _, ev := range f.history("demo") {
		counts[outcomeWord(ev.Outcome)]++
	}
	if !reflect.DeepEqual(counts, map[string]int{"accepted": 1, "duplicate": 49}) {
		t.Fatalf("history %v", counts)
	}
	eventually(t, "inbox emptied", func() bool { return f.inboxLen() == 0 })
}

// TestBurstCoalesces: three tags pushed while a deploy runs end on the
// last pushed, with at most two deploys; a late delivery of an older push
// is ignored rather than deployed.
func TestBurstCoalesces(t *testing.T) {
	f := newHookFixture(t, demo())
	f.gate = make(chan struct{})
	f.consume()
	t0 := time.Now()
	if status, _, raw := f.postDist(distPush("e1", "v1", t0)); status != 202 {
		t.Fatal(raw)
	}
	<-f.started // v1 is deploying
	for i, tag := range []string{"v2", "v3", "v4"} {
		if status, _, raw := f.postDist(distPush("e"+tag, tag, t0.Add(time.Duration(i+1)*time.Millisecond))); status != 202 {
			t.Fatal(raw)
		}
	}
	// v3 arrives late: pushed before v4, which was accepted already.
	stale := distPush("e3-late", "v2b", t0.Add(2500*time.Microsecond))
	if status, _, raw := f.postDist(stale); status != 202 {
		t.Fatal(raw)
	}
	eventually(t, "late push ignored", func() bool {
		for _, ev := range f.history("demo") {
			if strings.HasPrefix(ev.Outcome, "ignored: stale: pushed before v4") {
				return true
			}
		}
		return false
	})
	close(f.gate)
	got := f.waitDeployed(2)
	time.Sleep(200 * time.Millisecond)
	got = f.deployedNow()
	if len(got) != 2 || got[0].Tag != "v1" || got[1].Tag != "v4" {
		t.Fatalf("deployed %v, want v1 then v4", tags(got))
	}
	eventually(t, "every entry acknowledged", func() bool { return f.inboxLen() == 0 })
}

func tags(reqs []deployer.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Tag)
	}
	return out
}

// TestInboxSurvivesRestart: a request accepted while no consumer runs, or
// read by a consumer that dies before the deploy finished, is deployed by
// the next one.
func TestInboxSurvivesRestart(t *testing.T) {
	f := newHookFixture(t, demo())
	// Accepted; the process "dies" before reading it.
	if status, _, raw := f.postDist(distPush("a", "v1", time.Now())); status != 202 {
		t.Fatal(raw)
	}
	// Second life: it reads v1, starts the deploy, and dies mid-deploy.
	f.gate = make(chan struct{})
	f.consume()
	<-f.started
	f.stopConsumer() // the reader is gone; the deploy never finishes

	// Third life, same Redis: a fresh sidecar claims and deploys it.
	g := &hookFixture{t: t, redis: f.redis, logs: &testlog.Buffer{}, started: make(chan deployer.Request, 10)}
	g.newIntake(f.in.cfg, redisstore.New(redis.NewClient(&redis.Options{Addr: f.redis.Addr}), ""), demo())
	t.Cleanup(func() { g.queue.Close(time.Second); _ = g.store.Close() })
	g.consume()
	got := g.waitDeployed(1)
	if got[0].Tag != "v1" || len(got[0].Entries) != 1 {
		t.Fatalf("after restart deployed %+v", got)
	}
	eventually(t, "entry acknowledged", func() bool { return g.inboxLen() == 0 })
	if !strings.Contains(g.logs.String(), "resuming requests accepted before a restart") {
		t.Error("no log line about resumed requests")
	}
	close(f.gate) // let the dead process's deploy goroutine end
}

// TestRedisDownIs503: nothing is acknowledged that is not stored.
func TestRedisDownIs503(t *testing.T) {
	f := newHookFixture(t, demo())
	closed := fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))
	down := redisstore.New(redis.NewClient(&redis.Options{Addr: closed, MaxRetries: -1, DialTimeout: 100 * time.Millisecond}), "")
	f.in.store = down
	status, _, raw := f.postDist(distPush("x", "v1", time.Now()))
	if status != http.StatusServiceUnavailable || !strings.Contains(raw, "retry") {
		t.Fatalf("status %d %s, want 503", status, raw)
	}
	// A stranger is told 401 first: Redis being down is no one else's business.
	status, _, _ = f.post("/v1/hooks/distribution", []byte(`{"events":[]}`), map[string]string{
		"Authorization": "Bearer wrong", "Content-Type": "application/vnd.docker.distribution.events.v1+json"})
	if status != http.StatusUnauthorized {
		t.Fatalf("unauthenticated delivery with redis down: %d, want 401", status)
	}
	// Ignored deliveries are not acknowledged either: they are recorded.
	status, _, _ = f.post("/v1/hooks/github", []byte(`{}`), map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + sign([]byte(`{}`))})
	if status != http.StatusServiceUnavailable {
		t.Fatalf("ignored delivery with redis down: %d, want 503", status)
	}
}

func TestNotReadyIs503(t *testing.T) {
	f := newHookFixture(t, demo())
	f.in.ready.Store(false)
	if status, _, raw := f.postDist(distPush("x", "v1", time.Now())); status != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s, want 503 before the controllers are listed", status, raw)
	}
	if f.inboxLen() != 0 {
		t.Fatal("stored while not ready")
	}
}

// TestPushOrderSurvivesRestart: the newest push time is kept in Redis, so
// a late delivery of an older push that reaches a restarted sidecar is
// ignored as stale rather than deployed over the newer tag.
func TestPushOrderSurvivesRestart(t *testing.T) {
	f := newHookFixture(t, demo())
	f.consume()
	t0 := time.Now()
	if status, _, raw := f.postDist(distPush("new", "v2", t0.Add(time.Second))); status != 202 {
		t.Fatal(raw)
	}
	f.waitDeployed(1)
	f.stopConsumer()

	// The sidecar restarts (same Redis, empty memory); v1, pushed before
	// v2, arrives late.
	g := &hookFixture{t: t, redis: f.redis, logs: &testlog.Buffer{}, started: make(chan deployer.Request, 10)}
	g.newIntake(f.in.cfg, redisstore.New(redis.NewClient(&redis.Options{Addr: f.redis.Addr}), ""), demo())
	t.Cleanup(func() { g.queue.Close(time.Second); _ = g.store.Close() })
	g.srv = httptest.NewServer(g.routes())
	t.Cleanup(g.srv.Close)
	g.consume()
	if status, _, raw := g.postDist(distPush("old", "v1", t0)); status != 202 {
		t.Fatal(raw)
	}
	eventually(t, "late push ignored after the restart", func() bool {
		for _, ev := range g.history("demo") {
			if strings.HasPrefix(ev.Outcome, "ignored: stale: pushed before v2") {
				return true
			}
		}
		return false
	})
	eventually(t, "every entry acknowledged", func() bool { return g.inboxLen() == 0 })
	if got := g.deployedNow(); len(got) != 0 {
		t.Fatalf("the restarted sidecar deployed %v, want nothing", tags(got))
	}
}
