package sidecar

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/internal/testlog"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
)

const (
	secAPIToken  = "api-token-under-test"
	secHookToken = "hook-token-under-test"
)

// newHTTPSidecar is a sidecar with its HTTP routes on a real Redis and no
// Docker: no controller declares anything, so accepted pushes queue nothing.
func newHTTPSidecar(t *testing.T, apiToken, hookToken string) (*Sidecar, *testlog.Buffer) {
	t.Helper()
	redis := testsvc.Redis(t)
	store, err := redisstore.Open(context.Background(), redis.URL, "tf-http:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	logs := &testlog.Buffer{}
	log := zerolog.New(logs)
	cfg, err := Parse(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIToken, cfg.WebhookToken = apiToken, hookToken
	s := newTestSidecar(cfg, store, log)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // the inbox consumer, after an empty controller list
		defer close(done)
		s.intake.Run(ctx, func(context.Context) error { return nil })
	}()
	t.Cleanup(func() { stop(); <-done; s.queue.Close(0) })
	for deadline := time.Now().Add(10 * time.Second); !s.intake.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("intake not ready after 10s")
		}
	}
	return s, logs
}

// serve runs the sidecar's routes on a loopback port of 127.0.0.1.
func serve(t *testing.T, s *Sidecar) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(s.routes())
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// clientFrom returns an HTTP client whose connections come from ip (any
// 127.0.0.0/8 address works on Linux loopback).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16}}
}

func do(t *testing.T, c *http.Client, method, url, token string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v1+json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestManagementRoutesNeedTheToken walks every route the router has (so
// endpoints added later are covered too): apart from /healthz, /metrics
// and the webhooks, each answers 401 without the right bearer token and 403 when
// no API token is configured.
func TestManagementRoutesNeedTheToken(t *testing.T) {
	s, _ := newHTTPSidecar(t, secAPIToken, secHookToken)
	open, _ := newHTTPSidecar(t, "", secHookToken)
	url, openURL := serve(t, s), serve(t, open)
	c := clientFrom("127.0.0.1")

	type route struct{ method, path string }
	var routes []route
	err := s.routes().(*mux.Router).Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := r.GetPathTemplate()
		if err != nil {
			return nil
		}
		path := tpl
		for strings.Contains(path, "{") { // fill {vars} with a plausible value
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + "web" + path[j+1:]
		}
		methods, _ := r.GetMethods()
		for _, m := range methods {
			routes = append(routes, route{m, path})
		}
		return nil
	})
	if err != nil || len(routes) < 3 {
		t.Fatalf("walk: %v, %d routes", err, len(routes))
	}
	for _, rt := range routes {
		// /metrics has a token of its own, optional (TestMetricsRoute).
		if rt.path == "/healthz" || rt.path == "/metrics" || strings.HasPrefix(rt.path, "/v1/hooks/") {
			continue
		}
		for _, tok := range []string{"", "wrong", secHookToken, secAPIToken + "x", strings.ToUpper(secAPIToken)} {
			if code, body := do(t, c, rt.method, url+rt.path, tok, []byte("{}")); code != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q = %d %s, want 401", rt.method, rt.path, tok, code, body)
			}
		}
		if code, body := do(t, c, rt.method, openURL+rt.path, "", []byte("{}")); code != http.StatusForbidden || !strings.Contains(body, "management API disabled") {
			t.Errorf("%s %s with no API token configured = %d %s, want 403 disabled", rt.method, rt.path, code, body)
		}
		if code, _ := do(t, c, rt.method, openURL+rt.path, "anything", []byte("{}")); code != http.StatusForbidden {
			t.Errorf("%s %s with no API token configured and a guess = %d, want 403", rt.method, rt.path, code)
		}
		t.Logf("%s %s: 401 without the token, 403 when disabled", rt.method, rt.path)
	}
	if code, _ := do(t, c, http.MethodGet, url+"/v1/workloads", secAPIToken, nil); code != http.StatusOK {
		t.Errorf("GET /v1/workloads with the token = %d", code)
	}
}

// TestAuthFloodDoesNotStarveDeliveries floods the webhook with bad tokens
// from 127.0.0.2 while real deliveries arrive from 127.0.0.1 and from the
// flooding address itself: every real delivery is accepted, the flood is
// cut to 429 after its budget, and the log stays short and secret-free.
func TestAuthFloodDoesNotStarveDeliveries(t *testing.T) {
	s, logs := newHTTPSidecar(t, secAPIToken, secHookToken)
	url := serve(t, s) + "/v1/hooks/distribution"
	body := []byte(`{"events":[]}`)
	attacker, registry := clientFrom("127.0.0.2"), clientFrom("127.0.0.1")

	var codes sync.Map // status -> *atomic.Int64
	count := func(code int) {
		v, _ := codes.LoadOrStore(code, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	const workers, each = 8, 100
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range each {
				code, _ := do(t, attacker, http.MethodPost, url, fmt.Sprintf("bad-%d-%d", w, i), body)
				count(code)
			}
		})
	}
	close(start)

	var accepted, fromAttacker int
	for i := range 20 {
		if code, b := do(t, registry, http.MethodPost, url, secHookToken, body); code == http.StatusAccepted {
			accepted++
		} else {
			t.Errorf("real delivery %d during the flood = %d %s", i, code, b)
		}
		// A valid token from the flooding address is never limited.
		if code, _ := do(t, attacker, http.MethodPost, url, secHookToken, body); code == http.StatusAccepted {
			fromAttacker++
		}
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()

	get := func(code int) int64 {
		if v, ok := codes.Load(code); ok {
			return v.(*atomic.Int64).Load()
		}
		return 0
	}
	unauth, limited := get(http.StatusUnauthorized), get(http.StatusTooManyRequests)
	t.Logf("flood of %d bad tokens: %d answered 401, %d answered 429; real deliveries accepted: %d/20 from 127.0.0.1, %d/20 from the flooding address",
		workers*each, unauth, limited, accepted, fromAttacker)
	// The budget is checked before a request and spent after its 401, so
	// requests already in flight when it runs out may still be answered:
	// at most one per concurrent client.
	if unauth+limited != workers*each || unauth > httpapi.AuthFailBurst+workers || limited < workers*each-httpapi.AuthFailBurst-workers {
		t.Errorf("flood answers: 401 x%d, 429 x%d; want about %d 401s then 429s", unauth, limited, httpapi.AuthFailBurst)
	}
	if accepted != 20 || fromAttacker != 20 {
		t.Errorf("accepted %d and %d of 20 real deliveries", accepted, fromAttacker)
	}
	// The registry's own address still has its full budget: a mistake of
	// its own is a 401, not a 429.
	if code, _ := do(t, registry, http.MethodPost, url, "typo", body); code != http.StatusUnauthorized {
		t.Errorf("bad token from a quiet address = %d, want 401", code)
	}
	// The budget is per route: the flooding address can still be told 401
	// (not 429) by the management API.
	if code, _ := do(t, attacker, http.MethodGet, strings.TrimSuffix(url, "/v1/hooks/distribution")+"/v1/workloads", "bad", nil); code != http.StatusUnauthorized {
		t.Errorf("management API from the flooding address = %d, want 401", code)
	}
	out := logs.String()
	// Every delivery is logged (accepted or ignored); refusals only up to
	// the budget, then one line for the 429s.
	if n := strings.Count(out, `"request refused"`); n > httpapi.AuthFailBurst+workers+2 { // + the two probes below
		t.Errorf("%d refusal log lines for the flood: refusals past the budget should not be logged", n)
	}
	if strings.Contains(out, secHookToken) || strings.Contains(out, "bad-1-") {
		t.Error("log carries a token")
	}
	if strings.Count(out, "too many failed authentications") != 1 {
		t.Errorf("want exactly one 429 log line:\n%s", out)
	}
}
