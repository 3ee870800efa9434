package caddy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/proxyplug/caddy"
)

// backend is a real upstream answering name to every request.
func backend(t *testing.T, name string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

func newPlugin(t *testing.T) (*testsvc.CaddyServer, *caddy.Plugin) {
	t.Helper()
	cs := testsvc.Caddy(t)
	return cs, caddy.New(caddy.Options{AdminURL: cs.AdminURL, Listen: []string{cs.HTTPAddr}})
}

func route(face, upstream string) deployer.Route {
	return deployer.Route{
		ID:       "tf-web-" + face,
		Workload: "web",
		Face:     face,
		Host:     face + ".example.com",
		Upstream: upstream,
	}
}

// through sends one request for host through Caddy's server at addr.
func through(t *testing.T, addr, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Host = host
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s via %s: %v", host, addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// config reads Caddy's whole config.
func config(t *testing.T, cs *testsvc.CaddyServer) map[string]any {
	t.Helper()
	resp, err := http.Get(cs.AdminURL + "/config/")
	if err != nil {
		t.Fatalf("read config: %v", err)
	}
	defer resp.Body.Close()
	var cfg map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		t.Fatalf("decode config: %v", err)
	}
	return cfg
}

// serverRoutes returns the routes of the server name, raw.
func serverRoutes(t *testing.T, cs *testsvc.CaddyServer, name string) []map[string]any {
	t.Helper()
	cfg := config(t, cs)
	srv, _ := dig(cfg, "apps", "http", "servers", name).(map[string]any)
	if srv == nil {
		t.Fatalf("server %s absent from config %v", name, cfg)
	}
	var out []map[string]any
	for _, r := range srv["routes"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func adminPut(t *testing.T, cs *testsvc.CaddyServer, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, cs.AdminURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT %s: %s: %s", path, resp.Status, b)
	}
}

func TestUpsertCreatesServerAndSwitchesInPlace(t *testing.T) {
	cs, p := newPlugin(t)
	ctx := context.Background()
	blue, green := backend(t, "blue"), backend(t, "green")

	if err := p.Upsert(ctx, route("www", blue)); err != nil {
		t.Fatal(err)
	}
	srv := dig(config(t, cs), "apps", "http", "servers", "tinyforge").(map[string]any)
	if got := dig(srv, "automatic_https", "disable"); got != true {
		t.Errorf("automatic_https.disable = %v, want true", got)
	}
	if got := fmt.Sprint(srv["listen"]); got != "["+cs.HTTPAddr+"]" {
		t.Errorf("listen = %s, want [%s]", got, cs.HTTPAddr)
	}
	if code, body := through(t, cs.HTTPAddr, "www.example.com"); code != 200 || body != "blue" {
		t.Fatalf("before switch: %d %q, want 200 blue", code, body)
	}

	if err := p.Upsert(ctx, route("www", green)); err != nil {
		t.Fatal(err)
	}
	// Upsert returns once Caddy runs the new config: no polling.
	if code, body := through(t, cs.HTTPAddr, "www.example.com"); code != 200 || body != "green" {
		t.Fatalf("after switch: %d %q, want 200 green", code, body)
	}
	routes := serverRoutes(t, cs, "tinyforge")
	if len(routes) != 1 || routes[0]["@id"] != "tf-web-www" {
		t.Fatalf("routes after switch = %v, want exactly one with @id tf-web-www", routes)
	}
	if got := fmt.Sprint(dig(routes[0]["handle"].([]any)[0], "upstreams")); !strings.Contains(got, green) {
		t.Errorf("upstreams = %s, want %s", got, green)
	}
}

func TestTwoFacesDeleteAndRoutes(t *testing.T) {
	cs, p := newPlugin(t)
	ctx := context.Background()
	blue := backend(t, "blue")
	www, api := route("www", blue), route("api", blue)

	for _, r := range []deployer.Route{www, api} {
		if err := p.Upsert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := p.Routes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tf-web-www", "tf-web-api"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("Routes = %v, want %v", ids, want)
	}
	for _, host := range []string{"www.example.com", "api.example.com"} {
		if code, body := through(t, cs.HTTPAddr, host); code != 200 || body != "blue" {
			t.Errorf("%s: %d %q, want 200 blue", host, code, body)
		}
	}

	if err := p.Delete(ctx, www); err != nil {
		t.Fatal(err)
	}
	if _, body := through(t, cs.HTTPAddr, "www.example.com"); body == "blue" {
		t.Error("deleted route still reaches the backend")
	}
	if code, body := through(t, cs.HTTPAddr, "api.example.com"); code != 200 || body != "blue" {
		t.Errorf("other face after delete: %d %q, want 200 blue", code, body)
	}
	resp, err := http.Get(cs.AdminURL + "/id/tf-web-www")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /id/tf-web-www after delete: %s, want 404", resp.Status)
	}
	if err := p.Delete(ctx, www); err != nil {
		t.Errorf("second delete: %v, want nil", err)
	}
	if ids, _ := p.Routes(ctx); !reflect.DeepEqual(ids, []string{"tf-web-api"}) {
		t.Errorf("Routes after delete = %v, want [tf-web-api]", ids)
	}
}

func TestRoutesWithoutServer(t *testing.T) {
	_, p := newPlugin(t)
	ids, err := p.Routes(context.Background())
	if err != nil || len(ids) != 0 {
		t.Fatalf("Routes on empty config = %v, %v; want none, nil", ids, err)
	}
}

func TestForeignServerAndAdminUntouched(t *testing.T) {
	cs, p := newPlugin(t)
	ctx := context.Background()
	siteAddr := fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))
	adminPut(t, cs, "/config/apps/http/servers/site", `{"listen":["`+siteAddr+`"],`+
		`"routes":[{"handle":[{"handler":"static_response","body":"site"}]}],"automatic_https":{"disable":true}}`)
	before := config(t, cs)

	blue, green := backend(t, "blue"), backend(t, "green")
	for _, up := range []string{blue, green} {
		if err := p.Upsert(ctx, route("www", up)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Delete(ctx, route("www", green)); err != nil {
		t.Fatal(err)
	}

	after := config(t, cs)
	if !reflect.DeepEqual(after["admin"], before["admin"]) {
		t.Errorf("admin block changed: %v -> %v", before["admin"], after["admin"])
	}
	if a, b := dig(after, "apps", "http", "servers", "site"), dig(before, "apps", "http", "servers", "site"); !reflect.DeepEqual(a, b) {
		t.Errorf("foreign server changed: %v -> %v", b, a)
	}
	if code, body := through(t, siteAddr, "anything"); code != 200 || body != "site" {
		t.Errorf("foreign site: %d %q, want 200 site", code, body)
	}
}

func TestConcurrentUpsertsOnEmptyConfig(t *testing.T) {
	cs := testsvc.Caddy(t)
	// Two plugins stand for two writers that share no lock: only Caddy's
	// own atomicity keeps the server from being created twice.
	plugins := []*caddy.Plugin{
		caddy.New(caddy.Options{AdminURL: cs.AdminURL, Listen: []string{cs.HTTPAddr}}),
		caddy.New(caddy.Options{AdminURL: cs.AdminURL, Listen: []string{cs.HTTPAddr}}),
	}
	blue := backend(t, "blue")
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- plugins[i%2].Upsert(context.Background(), route(fmt.Sprintf("f%d", i), blue))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	seen := map[any]int{}
	for _, r := range serverRoutes(t, cs, "tinyforge") {
		seen[r["@id"]]++
	}
	for i := range n {
		if id := "tf-web-" + fmt.Sprintf("f%d", i); seen[id] != 1 {
			t.Errorf("route %s present %d times, want 1 (all: %v)", id, seen[id], seen)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct routes, want %d: %v", len(seen), n, seen)
	}
}

func TestErrorsNameTheRoute(t *testing.T) {
	cs := testsvc.Caddy(t)
	ctx := context.Background()
	blue := backend(t, "blue")

	// Caddy 2.6 loads any dial string and would answer 502 at request
	// time, so the plugin refuses a malformed upstream before writing.
	p := caddy.New(caddy.Options{AdminURL: cs.AdminURL, Listen: []string{cs.HTTPAddr}})
	bad := route("www", "no-port")
	err := p.Upsert(ctx, bad)
	if err == nil || !strings.HasPrefix(err.Error(), "caddy: upsert route tf-web-www (www.example.com): invalid upstream") {
		t.Errorf("bad upstream: err = %v", err)
	}

	// A config Caddy rejects: the server's listen address is already
	// claimed by a foreign server. Caddy rolls back and says why.
	siteAddr := fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))
	adminPut(t, cs, "/config/apps/http/servers/site", `{"listen":["`+siteAddr+`"],"routes":[]}`)
	clash := caddy.New(caddy.Options{AdminURL: cs.AdminURL, Listen: []string{siteAddr}})
	err = clash.Upsert(ctx, route("www", blue))
	if err == nil {
		t.Fatal("upsert on a claimed listen address succeeded")
	}
	t.Logf("rejected: %v", err)
	for _, want := range []string{"caddy: upsert route tf-web-www (www.example.com): ", "500 Internal Server Error", "listener address repeated"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if dig(config(t, cs), "apps", "http", "servers", "tinyforge") != nil {
		t.Error("rejected server left in config")
	}
}

func TestUnreachableAdmin(t *testing.T) {
	p := caddy.New(caddy.Options{AdminURL: "http://127.0.0.1:1", HTTPClient: &http.Client{Timeout: time.Second}})
	err := p.Upsert(context.Background(), route("www", "127.0.0.1:8080"))
	var op *net.OpError
	if !errors.As(err, &op) || !strings.Contains(err.Error(), "tf-web-www (www.example.com)") {
		t.Errorf("err = %v, want a dial error naming the route", err)
	}
}

func TestVerifyThroughCaddy(t *testing.T) {
	cs := testsvc.Caddy(t)
	p := caddy.New(caddy.Options{AdminURL: cs.AdminURL, Listen: []string{cs.HTTPAddr}, ProbeURL: "http://" + cs.HTTPAddr})
	ctx := context.Background()
	blue, green := backend(t, "blue"), backend(t, "green")
	if err := p.Upsert(ctx, route("www", blue)); err != nil {
		t.Fatal(err)
	}
	vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Verify(vctx, route("www", blue)); err != nil {
		t.Fatalf("verify blue: %v", err)
	}
	if err := p.Upsert(ctx, route("www", green)); err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(vctx, route("www", green)); err != nil {
		t.Fatalf("verify green: %v", err)
	}
	// An upstream Caddy does not route to never verifies.
	short, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	err := p.Verify(short, route("www", "127.0.0.1:1"))
	if err == nil || !strings.Contains(err.Error(), "upstream 127.0.0.1:1 not in Caddy's pool") {
		t.Errorf("verify of an unrouted upstream = %v", err)
	}
	// A routed upstream that is down: the probe through Caddy sees 502.
	dead := "127.0.0.1:" + fmt.Sprint(testsvc.FreePort(t))
	if err := p.Upsert(ctx, route("api", dead)); err != nil {
		t.Fatal(err)
	}
	short2, cancel3 := context.WithTimeout(ctx, time.Second)
	defer cancel3()
	err = p.Verify(short2, route("api", dead))
	if err == nil || !strings.Contains(err.Error(), "probe through caddy: 502") {
		t.Errorf("verify of a dead upstream = %v", err)
	}
}
