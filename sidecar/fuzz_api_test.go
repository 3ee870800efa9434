package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/controllers"
	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/intake"
	"github.com/tinyforge/tinyforge/internal/fuzzreq"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// fuzzDocker is the Docker the fuzzed sidecar sees: one controller
// declaring web, and no managed container. Any other call panics (the
// embedded interfaces are nil): the management API must not make one.
type fuzzDocker struct {
	deployer.Docker
	dockerhost.WatchSource
}

func (fuzzDocker) List(_ context.Context, filter map[string]string) ([]deployer.Container, error) {
	if filter[labels.Enable] == "" {
		return nil, nil // managed containers: none runs
	}
	return []deployer.Container{{ID: "ctl", Name: "ctl", Running: true, Created: time.Unix(1, 0), Labels: map[string]string{
		labels.Enable: "true", "tinyforge.workloads.web.image": "reg.test/web", "tinyforge.workloads.web.port": "80",
	}}}, nil
}

// fuzzWebDigest is a successful deploy of web in the seeded history, so a
// rollback can reach the inbox.
const fuzzWebDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

// newFuzzSidecar is newTestSidecar with web declared and an engine on
// fuzzDocker, on store: the real routes, the intake's inbox consumer
// running when run is set.
func newFuzzSidecar(tb testing.TB, store *redisstore.Store, run bool) *Sidecar {
	tb.Helper()
	cfg, err := Parse(nil, func(string) string { return "" })
	if err != nil {
		tb.Fatal(err)
	}
	cfg.APIToken, cfg.WebhookToken = secAPIToken, secHookToken
	log := zerolog.Nop()
	s := newTestSidecar(cfg, store, log)
	docker := fuzzDocker{}
	s.controllers = controllers.NewWatcher(docker, "", log)
	if err := s.controllers.Refresh(context.Background()); err != nil || s.controllers.Workload("web") == nil {
		tb.Fatalf("web not declared: %v", err)
	}
	s.intake = intake.New(s.intakeConfig(), store, s.controllers, s.queue.Submit, log)
	s.poller = s.newPoller()
	if s.engine, err = deployer.New(deployer.Config{Docker: docker, Store: store, Coord: store, Hosts: store, Log: log}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.queue.Close(0) })
	if !run {
		return s
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.intake.Run(ctx, func(context.Context) error { return nil })
	}()
	tb.Cleanup(func() { stop(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !s.intake.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("intake not ready after 10s")
		}
	}
	return s
}

// fuzzLogin logs in to the status page of h: the session cookie and the
// page's CSRF token.
func fuzzLogin(tb testing.TB, h http.Handler) (cookie, csrf string) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/ui/login", strings.NewReader(url.Values{"token": {secAPIToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	for _, c := range w.Result().Cookies() {
		if c.Name == "tinyforge_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	req = httptest.NewRequest(http.MethodGet, "/ui/", nil)
	req.Header.Set("Cookie", cookie)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(w.Body.String())
	if cookie == "" || m == nil {
		tb.Fatalf("login: %d, cookie %q, page %d", w.Code, cookie, w.Code)
	}
	return cookie, m[1]
}

// fuzzRemote gives each fuzzed request an address of its own, so the
// failed-authentication limiter (tested on its own) does not turn the
// fuzzer's bad tokens into 429s before the handlers see them.
var fuzzRemote atomic.Uint32

// FuzzManagementAPI drives the sidecar's whole router (management API,
// status page, webhooks) end to end with arbitrary requests: method,
// target (path and query), header lines, cookie and body, parsed as a
// server parses them, with or without the API token, the page's session
// and its CSRF token, against a Redis that answers (down unset) or a store
// that does not. Whatever comes in: nothing panics; no 5xx but a 503, and
// that only while the store is down; a request that carries none of the
// secrets (tokens, session, CSRF token) never gets a 2xx for a method that
// changes something, nor a 303 other than to the login form (an action
// done, a login), nor a session cookie; and what the API answers under /v1/ and /healthz is JSON.
func FuzzManagementAPI(f *testing.F) {
	for _, seed := range []struct {
		method, target string
		creds          uint8
		body           string
	}{
		{"GET", "/v1/workloads", 1, ""},
		{"GET", "/v1/workloads/web", 1, ""},
		{"GET", "/v1/workloads/web/events?n=5", 1, ""},
		{"GET", "/v1/events?n=0", 1, ""},
		{"GET", "/v1/workloads/web/deploys?limit=1", 1, ""},
		{"GET", "/v1/workloads/web/logs?tail=10&since=10m", 1, ""},
		{"GET", "/v1/hosts", 1, ""},
		{"GET", "/v1/deploys/stream?workload=web", 1, ""},
		{"POST", "/v1/workloads/web/rollback", 1, `{"digest":"` + fuzzWebDigest + `"}`},
		{"POST", "/v1/workloads/web/rollback", 1, `{"tag":"v1"}`},
		{"POST", "/v1/workloads/web/rollback", 0, ""},
		{"POST", "/v1/workloads/web/approve", 1, ""},
		{"POST", "/v1/workloads/web/reject", 1, ""},
		{"DELETE", "/v1/workloads/old", 1, ""},
		{"DELETE", "/v1/workloads/web", 0, ""},
		{"POST", "/v1/deploy", 1, `{"workload":"web","tag":"v2"}`},
		{"GET", "/healthz", 0, ""},
		{"GET", "/ui/", 2, ""},
		{"GET", "/ui/teardown?workload=old", 2, ""},
		{"POST", "/ui/login", 0, "token=" + secAPIToken},
		{"POST", "/ui/login", 0, "token=guess"},
		{"POST", "/ui/deploy", 6, "workload=web&tag=v2"},
		{"POST", "/ui/rollback", 6, "workload=web&to=" + fuzzWebDigest},
		{"POST", "/ui/teardown", 6, "workload=old&confirm=old"},
		{"POST", "/ui/approve", 2, "workload=web"},
		{"POST", "/ui/reject", 4, "workload=web"},
		{"POST", "/ui/logout", 6, ""},
	} {
		ct := "application/json"
		if strings.HasPrefix(seed.target, "/ui/") {
			ct = "application/x-www-form-urlencoded"
		}
		for _, down := range []bool{false, true} {
			f.Add(down, seed.creds, seed.method, seed.target, "Content-Type: "+ct+"\nOrigin: http://tinyforge.test", seed.body)
		}
	}
	f.Add(false, uint8(1), "PUT", "/v1/workloads/web?n=-1", "Authorization: Bearer x\nX-Forwarded-Proto: https", "{")
	f.Add(false, uint8(0), "GET", "/v1/workloads/%2e%2e/events?n=99999999999999999999", "Cookie: tinyforge_session=a.b", "")

	redisSrv := testsvc.Redis(f)
	store, err := redisstore.Open(context.Background(), redisSrv.URL, "tf-fuzz:")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	if err := store.AppendEvent(context.Background(), "web", deployer.Event{Deploy: "d1", Outcome: deployer.OutcomeDeployed,
		Image: "reg.test/web:v1", Tag: "v1", Digest: fuzzWebDigest, Time: time.Now()}); err != nil {
		f.Fatal(err)
	}
	// A store whose Redis refuses every connection: nothing listens on a
	// port just freed.
	dead := redisstore.New(redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(f)),
		MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1, DialerRetryTimeout: time.Millisecond}), "tf-fuzz:")
	f.Cleanup(func() { _ = dead.Close() })
	up, down := newFuzzSidecar(f, store, true), newFuzzSidecar(f, dead, false)
	upRoutes, downRoutes := up.routes(), down.routes()
	cookie, csrf := fuzzLogin(f, upRoutes)
	secrets := []string{secAPIToken, secHookToken, cookie[strings.IndexByte(cookie, '=')+1:], csrf}

	f.Fuzz(func(t *testing.T, broken bool, creds uint8, method, target, header, body string) {
		// creds: 1 the API token, 2 the session cookie, 4 the CSRF token
		// appended to the form body.
		if creds&4 != 0 {
			body += "&csrf=" + csrf
		}
		var extra []string
		if creds&1 != 0 {
			extra = append(extra, "Authorization: Bearer "+secAPIToken)
		}
		if creds&2 != 0 {
			extra = append(extra, "Cookie: "+cookie)
		}
		req, raw, ok := fuzzreq.Parse("tinyforge.test", method, target, header, extra, body)
		if !ok {
			return // a server answers 400 before any handler
		}
		n := fuzzRemote.Add(1)
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:4242", byte(n>>16), byte(n>>8), byte(n))
		// Streams (deploy stream, live view) run until the client leaves.
		wait := 5 * time.Second
		if strings.Contains(req.URL.Path, "stream") {
			wait = 50 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		req = req.WithContext(ctx)

		h := upRoutes
		if broken {
			h = downRoutes
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		resp := w.Result()
		got, _ := io.ReadAll(resp.Body)
		what := fmt.Sprintf("%s %s (store down %t, creds %d) = %d %.200q", req.Method, req.URL, broken, creds, resp.StatusCode, got)

		if resp.StatusCode < 200 || resp.StatusCode > 599 {
			t.Fatalf("%s: status out of range", what)
		}
		if resp.StatusCode >= 500 && (resp.StatusCode != http.StatusServiceUnavailable || !broken) {
			t.Fatalf("%s: a 5xx other than 503 while the store is down", what)
		}
		carries := false
		for _, s := range secrets {
			if strings.Contains(raw, s) {
				carries = true
			}
		}
		safe := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions
		if !carries {
			if !safe && resp.StatusCode < 300 {
				t.Fatalf("%s: a change accepted without any credential", what)
			}
			if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") != "/ui/login" {
				t.Fatalf("%s: 303 to %q (an action done, a login) without any credential", what, resp.Header.Get("Location"))
			}
			for _, c := range resp.Cookies() {
				if c.Name == "tinyforge_session" && c.Value != "" {
					t.Fatalf("%s: session cookie without any credential", what)
				}
			}
		}
		path := req.URL.Path
		if (strings.HasPrefix(path, "/v1/") || path == "/healthz") && !strings.HasSuffix(path, "/logs") && !strings.HasSuffix(path, "/stream") {
			mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			switch {
			case mt == "application/json":
				if !json.Valid(got) {
					t.Fatalf("%s: application/json that is not JSON", what)
				}
			case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusMovedPermanently:
				// the router's own answers: no route, wrong method, unclean path
			default:
				t.Fatalf("%s: Content-Type %q, want JSON", what, resp.Header.Get("Content-Type"))
			}
		}
	})
}
