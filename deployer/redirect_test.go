package deployer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

// TestHealthProbeStaysOnTheContainer: a health answer that redirects to
// another host is not followed (that host gets nothing) and the probe
// fails naming the redirect; a redirect on the container itself is fine.
func TestHealthProbeStaysOnTheContainer(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/metadata", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/ready", http.StatusFound)
		}
	}))
	defer app.Close()

	addr := strings.TrimPrefix(app.URL, "http://")
	for _, h := range []Prober{{Interval: 10 * time.Millisecond}, {Interval: 10 * time.Millisecond, Client: &http.Client{}}} {
		if err := h.WaitHealthy(context.Background(), Probe{Kind: labels.HealthHTTP, Addr: addr, Path: "/here"}); err != nil {
			t.Fatalf("redirect on the same host: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := h.WaitHealthy(ctx, Probe{Kind: labels.HealthHTTP, Addr: addr, Path: "/away"})
		cancel()
		if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "redirect to another host refused") {
			t.Fatalf("redirect to another host: %v, want unhealthy naming the refused redirect", err)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the other host got %d probes", n)
	}
}
