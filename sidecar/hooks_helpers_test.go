package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookFixture is a sidecar without Docker: real Redis, real HTTP routes,
// the real inbox consumer, and a queue whose "deploy" records the request
// (optionally waiting for release) and acknowledges it like runDeploy.
type hookFixture struct {
	t     testing.TB
	s     *Sidecar
	srv   *httptest.Server
	redis *testsvc.RedisServer
	logs  *syncBuffer
	logTo io.Writer // where the sidecar logs: logs, unless a benchmark says otherwise

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

func newHookFixture(t testing.TB, workloads ...*labels.Workload) *hookFixture {
	t.Helper()
	return newHookFixtureLogging(t, nil, workloads...)
}

// newHookFixtureLogging is newHookFixture with the logs going to logTo
// (nil: the fixture's buffer).
func newHookFixtureLogging(t testing.TB, logTo io.Writer, workloads ...*labels.Workload) *hookFixture {
	t.Helper()
	f := &hookFixture{t: t, redis: testsvc.Redis(t), logs: &syncBuffer{}, logTo: logTo, started: make(chan deployer.Request, 100)}
	if f.logTo == nil {
		f.logTo = f.logs
	}
	cfg, err := Parse(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.WebhookToken, cfg.APIToken = testSecret, testAPIToken
	f.s = f.newSidecar(cfg, redisstore.New(redis.NewClient(&redis.Options{Addr: f.redis.Addr}), ""), workloads...)
	f.srv = httptest.NewServer(f.s.routes())
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { f.s.queue.Close(5 * time.Second); _ = f.s.store.Close() })
	return f
}

func (f *hookFixture) newSidecar(cfg Config, store *redisstore.Store, workloads ...*labels.Workload) *Sidecar {
	if f.logTo == nil {
		f.logTo = f.logs
	}
	s := &Sidecar{cfg: cfg, log: zerolog.New(f.logTo).Level(zerolog.InfoLevel), store: store} // the sidecar's default level
	s.controllers = NewControllers(nil, "", s.log)
	for _, w := range workloads {
		s.controllers.workloads[w.Name] = w
	}
	s.queue = deployer.NewQueue(func(ctx context.Context, req deployer.Request) {
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
		s.hooks.inbox.done(ctx, req)
	})
	s.hooks = newHookState(s)
	s.hooks.ready.Store(true)
	return s
}

// consume runs the inbox consumer until the test ends or stopConsumer.
func (f *hookFixture) consume() {
	ctx, cancel := context.WithCancel(context.Background())
	f.stop, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		f.s.hooks.inbox.run(ctx, func(context.Context) error { return nil })
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
	evs, err := f.s.store.Events(context.Background(), workload, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

func (f *hookFixture) global() []deployer.Event {
	f.t.Helper()
	evs, err := f.s.store.GlobalEvents(context.Background(), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

func (f *hookFixture) inboxLen() int64 {
	f.t.Helper()
	n, err := f.s.store.InboxLen(context.Background())
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
