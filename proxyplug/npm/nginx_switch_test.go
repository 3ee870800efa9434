package npm_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/proxyplug/npm"
	"github.com/tinyforge/tinyforge/redisstore"
)

// timedProxy records when the deployer starts switching, which is right
// after the new container's health check passed.
type timedProxy struct {
	*npm.Plugin
	mu    sync.Mutex
	first time.Time
}

func (p *timedProxy) Upsert(ctx context.Context, r deployer.Route) error {
	p.mu.Lock()
	if p.first.IsZero() {
		p.first = time.Now()
	}
	p.mu.Unlock()
	return p.Plugin.Upsert(ctx, r)
}

func (p *timedProxy) reset() { p.mu.Lock(); p.first = time.Time{}; p.mu.Unlock() }

// TestSwitchThroughRealNginx runs the NPM plugin against the fake NPM
// driving a real nginx (remote mode, real containers): requests sent
// through nginx all along the v1 -> v2 switch never fail, the time from
// health-ok to the first request served by v2 through nginx is measured,
// and a config nginx -t rejects takes the host offline as in NPM, then
// writing the previous upstream back serves again.
func TestSwitchThroughRealNginx(t *testing.T) {
	ngx := startNginx(t)
	cli := testsvc.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	img := "tinyforge-test-" + testsvc.RunID + "/nginx"
	testsvc.BuildImage(t, cli, img+":v1", map[string]string{"APP_VERSION": "v1"})
	testsvc.BuildImage(t, cli, img+":v2", map[string]string{"APP_VERSION": "v2"})
	workload, network := "web-"+testsvc.RunID, "tf-ngx-"+testsvc.RunID
	testsvc.RemoveWorkload(t, cli, workload, network)
	redis := testsvc.Redis(t)
	store, err := redisstore.Open(ctx, redis.URL, "tinyforge:")
	must(t, err)
	t.Cleanup(func() { _ = store.Close() })
	host := dockerhost.New(cli)
	host.NetworkLabels = map[string]string{testsvc.RunLabel: testsvc.RunID}

	f := newFakeNPM(t)
	f.nginx = ngx
	proxy := &timedProxy{Plugin: newPlugin(t, f, nil)}
	engine, err := deployer.New(deployer.Config{
		Docker: localImages{host}, Proxy: proxy, Store: store, Coord: store,
		Network: network, Domain: "example.com",
		Labels:      map[string]string{testsvc.RunLabel: testsvc.RunID},
		PublishHost: "127.0.0.1",
		Drain:       500 * time.Millisecond,
		Log:         zerolog.New(zerolog.NewTestWriter(t)),
	})
	must(t, err)
	w := &labels.Workload{Name: workload, Image: img, Port: 8080, Healthcheck: "/health",
		Faces: map[string]*labels.Face{"www": {Subdomain: "www"}}}
	if _, err := engine.Deploy(ctx, w, deployer.Request{Workload: workload, Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	get := func() (string, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ngx.Addr+"/", nil)
		req.Host = "www.example.com"
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", &httpStatus{resp.Status + " " + time.Now().Format("05.000") + " " + resp.Header.Get("Server")}
		}
		return string(b), nil
	}
	ngx.waitReloaded(t)
	waitServed(t, get, "v1")

	// Load through nginx across the switch to v2.
	var sent atomic.Int64
	var failed []string
	var firstV2 time.Time
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				sent.Add(1)
				body, err := get()
				now := time.Now()
				mu.Lock()
				switch {
				case err != nil:
					failed = append(failed, err.Error())
				case body == "v2" && firstV2.IsZero():
					firstV2 = now
				case body != "v1" && body != "v2":
					failed = append(failed, "unexpected body "+body)
				}
				mu.Unlock()
			}
		})
	}
	proxy.reset()
	if _, err := engine.Deploy(ctx, w, deployer.Request{Workload: workload, Tag: "v2"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(failed) > 0 {
		t.Errorf("%d of %d requests through nginx failed during the switch; first: %v; last: %v; upsert at %s, first v2 at %s", len(failed), sent.Load(), failed[0], failed[len(failed)-1], proxy.first.Format("05.000"), firstV2.Format("05.000"))
	}
	if firstV2.IsZero() {
		t.Fatal("v2 never served through nginx")
	}
	evs, err := store.Events(ctx, workload, 1)
	must(t, err)
	t.Logf("through a real nginx (NPM remote mode): %d requests, %d failed; health ok -> first request served by v2: %s; "+
		"health ok -> switch verified (read back): %s",
		sent.Load(), len(failed), firstV2.Sub(proxy.first).Round(time.Millisecond), evs[0].Switched.Round(time.Millisecond))

	// nginx -t rejects a config: NPM takes the host offline, Upsert fails;
	// the previous upstream written back (the deployer's restore) serves.
	routes, err := store.Routes(ctx, workload)
	must(t, err)
	prev := routes[0]
	broken := prev
	broken.Upstream = "tf-broken.invalid:8080"
	err = proxy.Plugin.Upsert(ctx, broken)
	if err == nil || !strings.Contains(err.Error(), "offline") || !strings.Contains(err.Error(), "host not found in upstream") {
		t.Fatalf("upsert nginx rejects = %v", err)
	}
	must(t, proxy.Plugin.Upsert(ctx, prev))
	waitServed(t, get, "v2")
}

type httpStatus struct{ s string }

func (e *httpStatus) Error() string { return e.s }

// waitServed waits until nginx serves want on 50 requests in a row: a
// reload hands the listening socket to new workers while the old ones,
// with the old config, still accept for a moment (for a host that was
// just created, they answer 404).
func waitServed(t *testing.T, get func() (string, error), want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for row := 0; ; {
		body, err := get()
		if err == nil && body == want {
			if row++; row == 50 {
				return
			}
			continue
		}
		row = 0
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not serve %s: %q %v", want, body, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
