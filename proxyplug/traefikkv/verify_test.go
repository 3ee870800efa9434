package traefikkv_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/proxyplug/traefikkv"
)

// fakeTraefikAPI answers Traefik's /api/http/routers/<name> and
// /api/http/services/<name> with the shapes Traefik documents; the
// service balances to the old URL until applyAfter requests have been
// served, as Traefik does until its provider throttle lets the change in.
func fakeTraefikAPI(t *testing.T, oldURL, newURL string, applyAfter int64) *httptest.Server {
	t.Helper()
	var calls atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch r.URL.Path {
		case "/api/http/routers/tf-web-www@redis":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"entryPoints": []string{"web"}, "service": "tf-web-www", "rule": "Host(`www.example.com`)",
				"status": "enabled", "using": []string{"web"}, "name": "tf-web-www@redis", "provider": "redis",
			})
		case "/api/http/services/tf-web-www@redis":
			url := oldURL
			if n > applyAfter {
				url = newURL
			}
			_ = json.NewEncoder(w).Encode(map[string]any{
				"loadBalancer": map[string]any{"servers": []map[string]string{{"url": url}}, "passHostHeader": true},
				"status":       "enabled", "name": "tf-web-www@redis", "provider": "redis", "type": "loadbalancer",
			})
		default:
			http.Error(w, `{"message":"router not found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestVerifyWaitsForTraefik(t *testing.T) {
	srv := testsvc.Redis(t)
	rdb := client(t, srv.Addr)
	ctx := context.Background()
	api := fakeTraefikAPI(t, "http://10.0.0.2:8080", "http://10.0.0.3:8080", 6)
	p := newPlugin(t, rdb, traefikkv.Options{API: api.URL, EntryPoints: []string{"web"}})
	green := route("www", "10.0.0.3:8080", false)
	must(t, p.Upsert(ctx, green))
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	must(t, p.Verify(vctx, green))
	t.Logf("verified through the API after %s", time.Since(start).Round(time.Millisecond))

	// Traefik never picks the change up: Verify gives up at the deadline
	// and says what Traefik still runs.
	stuck := fakeTraefikAPI(t, "http://10.0.0.2:8080", "", 1<<40)
	p2 := newPlugin(t, rdb, traefikkv.Options{API: stuck.URL, EntryPoints: []string{"web"}})
	vctx2, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	err := p2.Verify(vctx2, green)
	if err == nil || !strings.Contains(err.Error(), "http://10.0.0.2:8080") || !strings.Contains(err.Error(), "not yet http://10.0.0.3:8080") {
		t.Errorf("Verify against a stale Traefik = %v", err)
	}
	// Redis does not hold the route: the read-back fails first.
	other := route("api", "10.0.0.3:9090", false)
	vctx3, cancel3 := context.WithTimeout(ctx, time.Second)
	defer cancel3()
	if err := p.Verify(vctx3, other); err == nil || !strings.Contains(err.Error(), "traefik/http/routers/tf-web-api/") {
		t.Errorf("Verify of an unwritten route = %v", err)
	}
}
