package caddy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestSwitchUnderLoad is the zero-downtime property: clients sending
// requests continuously through Caddy while the route flips blue/green 20
// times must never see a failure. Each kind of client runs on its own,
// because Caddy 2.6 reloads its whole config on every admin change, and
// the reload hurts them differently:
//
//   - http1-keepalive: the old server's Shutdown closes idle keep-alive
//     connections; a request written on one at that moment fails (EOF,
//     reset, "server closed idle connection"). net/http, like browsers,
//     retries it when idempotent (GET), never for POST, so this client
//     sends GETs: a POST on an idle HTTP/1.1 connection is a race any
//     server's idle close has, and the README says to use HTTP/2 for it.
//   - http1-new-conn: each reload binds a new SO_REUSEPORT socket and
//     closes the old one; the kernel resets connections still queued on
//     the old socket unless net.ipv4.tcp_migrate_req=1 (Linux >= 5.14),
//     which testsvc.Caddy sets, as the README tells operators to.
//   - h2c: one multiplexed connection; shutdown sends GOAWAY, after which
//     the client safely retries unprocessed requests.
func TestSwitchUnderLoad(t *testing.T) {
	for _, kind := range []string{"http1-keepalive", "http1-new-conn", "h2c"} {
		t.Run(kind, func(t *testing.T) { switchUnderLoad(t, kind) })
	}
}

func switchUnderLoad(t *testing.T, kind string) {
	cs, p := newPlugin(t)
	ctx := context.Background()
	ups := []string{backend(t, "blue"), backend(t, "green")}
	if err := p.Upsert(ctx, route("www", ups[0])); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableKeepAlives: kind == "http1-new-conn"}
	if kind == "h2c" {
		// The plugin leaves protocols at Caddy's default (h1 h2 h3);
		// cleartext HTTP/2 must be enabled on the server explicitly.
		adminPut(t, cs, "/config/apps/http/servers/tinyforge/protocols", `["h1","h2","h2c"]`)
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}

	var sent atomic.Int64
	var mu sync.Mutex
	failures := map[string]int{} // "<method> <fresh|reused conn>: <error>" -> count
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		method := []string{http.MethodGet, http.MethodPost}[w%2]
		if kind == "http1-keepalive" {
			method = http.MethodGet
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				if what := loadRequest(client, cs, method); what != "" {
					mu.Lock()
					failures[what]++
					mu.Unlock()
				}
			}
		}()
	}

	var took time.Duration
	const switches = 20
	for i := 1; i <= switches; i++ {
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		if err := p.Upsert(ctx, route("www", ups[i%2])); err != nil {
			t.Error(err)
		}
		took += time.Since(start)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()

	failed := 0
	var lines []string
	for what, n := range failures {
		failed += n
		lines = append(lines, fmt.Sprintf("%5d  %s", n, what))
	}
	sort.Strings(lines)
	t.Logf("%s: %d switches, mean Upsert %s; %d requests sent, %d failed",
		kind, switches, (took / switches).Round(100*time.Microsecond), sent.Load(), failed)
	// Keep-alive and h2c clients see no failure. A client opening a new
	// connection per request can still, rarely, be reset in the instant
	// Caddy swaps listeners even with tcp_migrate_req (seen once: 1 of
	// 2,450 at 8 such clients and 20 reloads in a second); it is bounded
	// here at 1 in 1,000 and documented in the README.
	allowed := 0
	if kind == "http1-new-conn" {
		allowed = int(sent.Load() / 1000)
	}
	if failed > allowed {
		t.Errorf("%d of %d requests failed while switching (at most %d allowed):\n%s", failed, sent.Load(), allowed, strings.Join(lines, "\n"))
	}
	if n := len(serverRoutes(t, cs, "tinyforge")); n != 1 {
		t.Errorf("%d routes after switching, want 1", n)
	}
}

// loadRequest sends one request for the routed host and describes its
// failure, or returns "" when blue or green answered.
func loadRequest(client *http.Client, cs *testsvc.CaddyServer, method string) string {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("x")
	}
	conn := "fresh conn"
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if i.Reused {
			conn = "reused conn"
		}
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, "http://"+cs.HTTPAddr+"/", body)
	req.Host = "www.example.com"
	resp, err := client.Do(req)
	if err != nil {
		msg := err.Error()
		return fmt.Sprintf("%s %s: %s", method, conn, msg[strings.LastIndex(msg, ": ")+2:])
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || (string(b) != "blue" && string(b) != "green") {
		return fmt.Sprintf("%s: HTTP %d %q", method, resp.StatusCode, b)
	}
	return ""
}
