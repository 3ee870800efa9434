package deployer

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/traefik/paerser/types"

	"github.com/tinyforge/tinyforge/labels"
)

// TestProber runs the real prober against real HTTP servers and TCP
// listeners: which answers pass under the workload's options, and which
// fail with ErrUnhealthy naming the last failure.
func TestProber(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	var calls atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/third": // healthy from the third probe on
			if calls.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/moved": // a login redirect to another host
			http.Redirect(w, r, other.URL+"/login", http.StatusFound)
		case "/byhost": // routes by Host, as apps behind a proxy do
			if r.Host != "app.example.com" {
				w.WriteHeader(http.StatusNotFound)
			}
		}
	}))
	defer app.Close()
	appAddr := strings.TrimPrefix(app.URL, "http://")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	_ = closed.Close()

	status := func(s string) func(int) bool { return (&labels.Workload{HealthStatus: s}).HealthyStatus }
	httpProbe := func(path string) Probe { return Probe{Kind: labels.HealthHTTP, Addr: appAddr, Path: path} }
	with := func(p Probe, change func(*Probe)) Probe { change(&p); return p }
	for _, tc := range []struct {
		name  string
		probe Probe
		fail  string // "" = passes; else part of the error
	}{
		{"2xx after two failures", httpProbe("/third"), ""},
		{"503 fails", httpProbe("/down"), "status 503"},
		{"204 passes 2xx", httpProbe("/nocontent"), ""},
		{"204 fails healthStatus 200", with(httpProbe("/nocontent"), func(p *Probe) { p.Healthy = status("200") }), "status 204"},
		{"a redirect elsewhere fails 2xx, unfollowed", httpProbe("/moved"), "redirect to another host refused"},
		{"a redirect passes healthStatus 200-399, unfollowed", with(httpProbe("/moved"), func(p *Probe) { p.Healthy = status("200-399") }), ""},
		{"host routing without healthHost fails", httpProbe("/byhost"), "status 404"},
		{"host routing with healthHost passes", with(httpProbe("/byhost"), func(p *Probe) { p.Host = "app.example.com" }), ""},
		{"tcp: a listener passes", Probe{Kind: labels.HealthTCP, Addr: ln.Addr().String()}, ""},
		{"tcp: a closed port fails", Probe{Kind: labels.HealthTCP, Addr: closedAddr}, "tcp://" + closedAddr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := Prober{Interval: 10 * time.Millisecond}.WaitHealthy(ctx, tc.probe)
			switch {
			case tc.fail == "" && err != nil:
				t.Fatalf("want healthy, got %v", err)
			case tc.fail != "" && (!errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), tc.fail)):
				t.Fatalf("got %v, want ErrUnhealthy naming %q", err, tc.fail)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the other host got %d requests", n)
	}
}

// TestProberInterval: the first probes come fast (a new container is
// usually up within milliseconds), then no more often than the probe's
// interval, which wins over the prober's.
func TestProberInterval(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer app.Close()
	p := Probe{Kind: labels.HealthHTTP, Addr: strings.TrimPrefix(app.URL, "http://"), Path: "/", Interval: 150 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	_ = Prober{Interval: 10 * time.Millisecond}.WaitHealthy(ctx, p)
	mu.Lock()
	defer mu.Unlock()
	if len(at) < 2 || at[1].Sub(at[0]) > 100*time.Millisecond {
		t.Fatalf("second probe %v after the first, want a fast first poll", at[1].Sub(at[0]))
	}
	for i := 2; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap > 150*time.Millisecond+100*time.Millisecond {
			t.Errorf("probe %d came %v after the one before: more than the interval", i, gap)
		}
	}
	// 10 ms growing by a quarter reaches 150 ms after ~12 probes (~0.6 s);
	// then one per 150 ms: about 16 in 1.2 s. Probing every 10 ms would
	// make 100 or more.
	if len(at) > 25 || len(at) < 8 {
		t.Fatalf("%d probes in 1.2 s with a 150 ms interval", len(at))
	}
}

// TestWorkloadProbe: the labels' health options become the probe.
func TestWorkloadProbe(t *testing.T) {
	w := &labels.Workload{Port: 8080, Healthcheck: "/ready", HealthPort: 9000, HealthHost: "app.example.com",
		HealthInterval: types.Duration(500 * time.Millisecond), HealthStatus: "200-399"}
	p := workloadProbe(w, "10.0.0.7")
	if p.Target() != "http://10.0.0.7:9000/ready" || p.Host != "app.example.com" || p.Interval != 500*time.Millisecond ||
		!p.Healthy(302) || p.Healthy(404) {
		t.Fatalf("probe %+v (target %s)", p, p.Target())
	}
	p = workloadProbe(&labels.Workload{Port: 5432, Healthcheck: "tcp"}, "10.0.0.7")
	if p.Target() != "tcp://10.0.0.7:5432" || p.Interval != labels.DefaultHealthInterval {
		t.Fatalf("tcp probe %+v (target %s)", p, p.Target())
	}
	p = workloadProbe(&labels.Workload{Port: 8080, Healthcheck: "http"}, "10.0.0.7")
	if p.Target() != "http://10.0.0.7:8080/" {
		t.Fatalf("healthcheck http probes %s, want the path /", p.Target())
	}
}
