package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testlog"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// hookFixture is an intake without Docker: real Redis, real HTTP routes,
// the real inbox consumer, and a queue whose "deploy" records the request
// (optionally waiting for release) and acknowledges it like the sidecar's
// deploy executor.
type hookFixture struct {
	t     testing.TB
	in    *Intake
	store *redisstore.Store
	queue *deployer.Queue
	srv   *httptest.Server
	redis *testsvc.RedisServer
	logs  *testlog.Buffer
	logTo io.Writer // where the intake logs: logs, unless a benchmark says otherwise

	mu       sync.Mutex
	deployed []deployer.Request
	gate     chan struct{} // when set, each deploy waits for a receive
	deployIn time.Duration // how long each fake deploy takes
	started  chan deployer.Request
	stop     context.CancelFunc
	done     chan struct{}
}

const (
	testSecret   = "s3cret-for-tests"
	testAPIToken = "api-token-for-tests"
)

// declared is a fixed set of declared workloads.
type declared map[string]*labels.Workload

func (d declared) Workloads() map[string]*labels.Workload { return maps.Clone(d) }

func newHookFixture(t testing.TB, workloads ...*labels.Workload) *hookFixture {
	t.Helper()
	return newHookFixtureLogging(t, nil, workloads...)
}

// newHookFixtureLogging is newHookFixture with the logs going to logTo
// (nil: the fixture's buffer).
func newHookFixtureLogging(t testing.TB, logTo io.Writer, workloads ...*labels.Workload) *hookFixture {
	t.Helper()
	f := &hookFixture{t: t, redis: testsvc.Redis(t), logs: &testlog.Buffer{}, logTo: logTo, started: make(chan deployer.Request, 100)}
	cfg := Config{WebhookToken: testSecret, APIToken: testAPIToken, Consumer: "test-" + testsvc.RunID,
		Hooks: HookConfig{DedupTTL: 24 * time.Hour}}
	f.newIntake(cfg, redisstore.New(redis.NewClient(&redis.Options{Addr: f.redis.Addr}), ""), workloads...)
	f.srv = httptest.NewServer(f.routes())
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { f.queue.Close(5 * time.Second); _ = f.store.Close() })
	return f
}

// routes mounts the intake on a router, as the sidecar does.
func (f *hookFixture) routes() http.Handler {
	r := mux.NewRouter()
	f.in.Mount(r)
	return r
}

func (f *hookFixture) newIntake(cfg Config, store *redisstore.Store, workloads ...*labels.Workload) {
	if f.logTo == nil {
		f.logTo = f.logs
	}
	log := zerolog.New(f.logTo).Level(zerolog.InfoLevel) // the sidecar's default level
	d := declared{}
	for _, w := range workloads {
		d[w.Name] = w
	}
	f.store = store
	f.queue = deployer.NewQueue(func(ctx context.Context, req deployer.Request) {
		select {
		case f.started <- req:
		default: // nobody watches starts (benchmarks)
		}
		f.mu.Lock()
		gate := f.gate
		f.mu.Unlock()
		if gate != nil {
			<-gate
		}
		time.Sleep(f.deployIn)
		f.mu.Lock()
		f.deployed = append(f.deployed, req)
		f.mu.Unlock()
		f.in.Done(ctx, req)
	})
	f.in = New(cfg, store, d, f.queue.Submit, log)
	f.in.ready.Store(true)
}

// consume runs the inbox consumer until the test ends or stopConsumer.
func (f *hookFixture) consume() {
	ctx, cancel := context.WithCancel(context.Background())
	f.stop, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		f.in.Run(ctx, func(context.Context) error { return nil })
	}()
	f.t.Cleanup(f.stopConsumer)
}

func (f *hookFixture) stopConsumer() {
	if f.stop != nil {
		f.stop()
		<-f.done
		f.stop = nil
	}
}

// post sends body to path with headers and returns status and reply.
func (f *hookFixture) post(path string, body []byte, headers map[string]string) (int, intakeReply, string) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var reply intakeReply
	_ = json.Unmarshal(raw, &reply)
	return resp.StatusCode, reply, string(raw)
}

// waitDeployed waits until n requests were deployed and returns them.
func (f *hookFixture) waitDeployed(n int) []deployer.Request {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		got := slices.Clone(f.deployed)
		f.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%d requests deployed, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *hookFixture) deployedNow() []deployer.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.deployed)
}

// history returns the outcomes of a workload's history, oldest first.
func (f *hookFixture) history(workload string) []deployer.Event {
	f.t.Helper()
	evs, err := f.store.Events(context.Background(), workload, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

func (f *hookFixture) global() []deployer.Event {
	f.t.Helper()
	evs, err := f.store.GlobalEvents(context.Background(), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

func (f *hookFixture) inboxLen() int64 {
	f.t.Helper()
	n, err := f.store.InboxLen(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func outcomesOf(evs []deployer.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Outcome)
	}
	return out
}

// sample reads a payload from the webhook package's testdata.
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "webhook", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
