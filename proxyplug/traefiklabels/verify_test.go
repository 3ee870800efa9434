package traefiklabels_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/proxyplug/traefiklabels"
)

// TestVerifyWaitsUntilTraefikBalancesToTheNewContainer: Traefik's API
// (its documented /api/http/services/<name>@docker shape) lists only the
// old server until its throttle lets the new container in; Verify passes
// only then.
func TestVerifyWaitsUntilTraefikBalancesToTheNewContainer(t *testing.T) {
	var calls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/http/services/tf-web-www@docker" {
			http.Error(w, `{"message":"service not found"}`, http.StatusNotFound)
			return
		}
		servers := []map[string]string{{"url": "http://10.0.0.2:8080"}}
		if calls.Add(1) > 3 {
			servers = append(servers, map[string]string{"url": "http://10.0.0.3:8080"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"loadBalancer": map[string]any{"servers": servers}, "status": "enabled", "provider": "docker"})
	}))
	defer api.Close()
	green := routes("green-id", "10.0.0.3")[1]

	p := traefiklabels.New(traefiklabels.Options{API: api.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Verify(ctx, green); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n < 4 {
		t.Errorf("Verify passed after %d API calls, before Traefik listed the new server", n)
	}

	api2 := httptest.NewServer(http.NotFoundHandler())
	defer api2.Close()
	p2 := traefiklabels.New(traefiklabels.Options{API: api2.URL})
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if err := p2.Verify(ctx2, green); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Verify with a Traefik that never knows the service = %v", err)
	}

	// Without an API: the settle time must fit in the verify timeout.
	p3 := traefiklabels.New(traefiklabels.Options{Settle: time.Hour})
	ctx3, cancel3 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel3()
	if err := p3.Verify(ctx3, green); err == nil || !strings.Contains(err.Error(), "settle time 1h0m0s") {
		t.Errorf("Verify with a settle time beyond the deadline = %v", err)
	}
}
