package traefikkv_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/proxyplug/traefikkv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func newPlugin(t *testing.T, rdb redis.UniversalClient, opts traefikkv.Options) *traefikkv.Plugin {
	t.Helper()
	opts.Client = rdb
	if opts.EntryPoints == nil {
		opts.EntryPoints = []string{"web", "websecure"}
	}
	opts.Log = zerolog.New(zerolog.NewTestWriter(t))
	p, err := traefikkv.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func route(face, upstream string, tls bool) deployer.Route {
	return deployer.Route{
		ID: "tf-web-" + face, Workload: "web", Face: face,
		Host: face + ".example.com", Upstream: upstream, Port: 8080, TLS: tls,
	}
}

// dump lists every key in Redis with its value, sorted: strings as
// "key = value", hash fields as "key[field] = value".
func dump(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, k := range keys {
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "string":
			lines = append(lines, k+" = "+rdb.Get(ctx, k).Val())
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				lines = append(lines, k+"["+f+"] = "+v)
			}
		default:
			lines = append(lines, k+" : "+typ)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s: key set differs from %s\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// seedForeign writes keys the sidecar does not own: a router the user
// configured under Traefik's root, and an unrelated key.
func seedForeign(t *testing.T, rdb *redis.Client) {
	t.Helper()
	must(t, rdb.MSet(context.Background(),
		"traefik/http/routers/user-site/rule", "Host(`user.example.com`)",
		"traefik/http/routers/user-site/service", "user-site",
		"traefik/http/services/user-site/loadbalancer/servers/0/url", "http://192.0.2.1:80",
		"app:counter", "7",
	).Err())
}

// TestKeySetAcrossDeploySwitchTeardownResync checks the exact key set, foreign
// keys included, after each step against golden files.
func TestKeySetAcrossDeploySwitchTeardownResync(t *testing.T) {
	srv := testsvc.Redis(t)
	rdb := client(t, srv.Addr)
	seedForeign(t, rdb)
	ctx := context.Background()
	p := newPlugin(t, rdb, traefikkv.Options{})

	// deploy: two faces on blue; api asks for TLS.
	must(t, p.Upsert(ctx, route("www", "10.0.0.2:8080", false)))
	must(t, p.Upsert(ctx, route("api", "10.0.0.2:9090", true)))
	golden(t, "deploy", dump(t, rdb))

	// switch: both faces to green; api drops TLS, so its tls key must go.
	must(t, p.Upsert(ctx, route("www", "10.0.0.3:8080", false)))
	must(t, p.Upsert(ctx, route("api", "10.0.0.3:9090", false)))
	golden(t, "switch", dump(t, rdb))
	for _, r := range []deployer.Route{route("www", "10.0.0.3:8080", false), route("api", "10.0.0.3:9090", false)} {
		vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		must(t, p.Verify(vctx, r))
		cancel()
	}
	ids, err := p.Routes(ctx)
	must(t, err)
	if !slices.Equal(ids, []string{"tf-web-api", "tf-web-www"}) {
		t.Errorf("Routes = %v", ids)
	}

	// teardown of one face; a second delete is no error.
	must(t, p.Delete(ctx, route("www", "10.0.0.3:8080", false)))
	must(t, p.Delete(ctx, route("www", "10.0.0.3:8080", false)))
	golden(t, "teardown", dump(t, rdb))

	// resync after Redis lost part of the tree (someone deleted keys): a
	// sidecar restart (a new plugin, nothing in memory) re-asserts from
	// the ownership record.
	must(t, rdb.Del(ctx, "traefik/http/routers/tf-web-api/rule", "traefik/http/services/tf-web-api/loadbalancer/servers/0/url").Err())
	fresh := newPlugin(t, rdb, traefikkv.Options{})
	n, err := fresh.Resync(ctx)
	must(t, err)
	if n != 1 {
		t.Errorf("resync re-asserted %d routes, want 1", n)
	}
	golden(t, "teardown", dump(t, rdb))
}

// TestReassertAfterRedisRestart: Redis restarts empty (no persistence);
// Run notices the new run_id, turns keyspace notifications back on and
// re-asserts the routes written before, from memory.
func TestReassertAfterRedisRestart(t *testing.T) {
	srv := testsvc.Redis(t)
	rdb := client(t, srv.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	p := newPlugin(t, rdb, traefikkv.Options{CheckEvery: 50 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitFor(t, "keyspace notifications on at start", func() bool { return notifyOn(rdb) })
	must(t, p.Upsert(context.Background(), route("www", "10.0.0.3:8080", false)))
	must(t, p.Upsert(context.Background(), route("api", "10.0.0.3:9090", false)))
	before := dump(t, rdb)

	restartRedis(t, rdb, srv.Addr)
	waitFor(t, "routes re-asserted after restart", func() bool { return dump(t, rdb) == before })
	if !notifyOn(rdb) {
		t.Error("keyspace notifications off after restart")
	}
	golden(t, "switch-owned", before)
}

// restartRedis shuts the server at addr down without saving and starts an
// empty one on the same port.
func restartRedis(t *testing.T, rdb *redis.Client, addr string) {
	t.Helper()
	_ = rdb.Shutdown(context.Background()).Err() // the connection drops: no answer
	_, port, _ := strings.Cut(addr, ":")
	waitFor(t, "old redis gone", func() bool { return testsvc.WaitTCP(addr, 50*time.Millisecond) != nil })
	testsvc.StartProcess(t, t.TempDir(), "redis-server", "--save", "", "--appendonly", "no", "--port", port, "--bind", "127.0.0.1")
	must(t, testsvc.WaitTCP(addr, 10*time.Second))
}

func notifyOn(rdb *redis.Client) bool {
	v := rdb.ConfigGet(context.Background(), "notify-keyspace-events").Val()["notify-keyspace-events"]
	return strings.Contains(v, "K") && strings.Contains(v, "E") && strings.Contains(v, "A")
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRefusals(t *testing.T) {
	srv := testsvc.Redis(t)
	rdb := client(t, srv.Addr)
	ctx := context.Background()
	p := newPlugin(t, rdb, traefikkv.Options{})
	for _, r := range []deployer.Route{
		route("www", "10.0.0.3", false),
		{ID: "tf-web-x", Host: "a.example.com`) || Host(`evil.com", Upstream: "10.0.0.3:80"},
		{ID: "tf-web-x", Host: "", Upstream: "10.0.0.3:80"},
	} {
		if err := p.Upsert(ctx, r); err == nil || !strings.HasPrefix(err.Error(), "traefik-kv: upsert route ") {
			t.Errorf("Upsert(%+v) = %v, want an error naming the route", r, err)
		}
	}
	// Two route ids reducing to one Traefik name must not overwrite each other.
	must(t, p.Upsert(ctx, deployer.Route{ID: "tf-a.b-www", Host: "a.example.com", Upstream: "10.0.0.3:80"}))
	err := p.Upsert(ctx, deployer.Route{ID: "tf-a-b-www", Host: "b.example.com", Upstream: "10.0.0.4:80"})
	if err == nil || !strings.Contains(err.Error(), "already used by route tf-a.b-www") {
		t.Errorf("colliding name: %v", err)
	}
	if got := rdb.Get(ctx, "traefik/http/routers/tf-a-b-www/rule").Val(); got != "Host(`a.example.com`)" {
		t.Errorf("colliding upsert changed the rule to %q", got)
	}
	if _, err := traefikkv.New(traefikkv.Options{Client: rdb, Prefix: "traefik/tinyforge:"}); err == nil {
		t.Error("a prefix inside Traefik's root was accepted")
	}
	if _, err := traefikkv.New(traefikkv.Options{}); err == nil {
		t.Error("no client accepted")
	}
	if rdb.Exists(ctx, "traefik/http/routers/tf-web-www/rule").Val() != 0 {
		t.Error("refused route was written")
	}
}
