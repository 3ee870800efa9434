package redisstore_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// newStore returns a store on srv with its own client, closed at cleanup.
func newStore(t *testing.T, srv *testsvc.RedisServer, prefix string) *redisstore.Store {
	t.Helper()
	s := redisstore.New(redis.NewClient(&redis.Options{Addr: srv.Addr}), prefix)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func inst(id, workload string, created time.Time) deployer.Instance {
	return deployer.Instance{
		ID: id, Name: workload + "-" + id, Workload: workload,
		Image: "reg/" + workload + ":v1", Tag: "v1", Digest: "sha256:" + id,
		Deploy: "d1", State: deployer.StateRunning, Address: "10.0.0.2",
		Created: created, Routes: map[string]string{workload + ".test": "r-" + id},
	}
}

func route(id, workload string) deployer.Route {
	return deployer.Route{ID: id, Workload: workload, Face: "web", Host: workload + ".test",
		Upstream: "10.0.0.2:8080", Container: "c-" + id}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// allKeys lists every key in the server, to check what a store wrote.
func allKeys(t *testing.T, srv *testsvc.RedisServer) []string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	keys, err := c.Keys(context.Background(), "*").Result()
	must(t, err)
	return keys
}

func TestInstances(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	b := inst("b", "web", t0)
	a := inst("a", "web", t0) // same Created as b: ID breaks the tie
	old := inst("z", "api", t0.Add(-time.Hour))
	newer := inst("c", "web", t0.Add(time.Minute))
	newer.Routes = nil
	for _, in := range []deployer.Instance{newer, b, old, a} {
		must(t, s.PutInstance(ctx, in))
	}

	all, err := s.Instances(ctx, "")
	must(t, err)
	equal(t, "all", all, []deployer.Instance{old, a, b, newer})
	web, err := s.Instances(ctx, "web")
	must(t, err)
	equal(t, "web", web, []deployer.Instance{a, b, newer})
	none, err := s.Instances(ctx, "nope")
	must(t, err)
	equal(t, "unknown workload", none, []deployer.Instance{})

	b.State = deployer.StateExited // replace in place, no duplicate
	must(t, s.PutInstance(ctx, b))
	web, err = s.Instances(ctx, "web")
	must(t, err)
	equal(t, "web after update", web, []deployer.Instance{a, b, newer})

	must(t, s.DeleteInstance(ctx, "b"))
	must(t, s.DeleteInstance(ctx, "b"))       // again
	must(t, s.DeleteInstance(ctx, "missing")) // never existed
	all, err = s.Instances(ctx, "")
	must(t, err)
	equal(t, "all after delete", all, []deployer.Instance{old, a, newer})
	web, err = s.Instances(ctx, "web")
	must(t, err)
	equal(t, "web after delete", web, []deployer.Instance{a, newer})
}

func TestInstanceMovedWorkload(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	in := inst("x", "a", t0)
	must(t, s.PutInstance(ctx, in))
	in.Workload = "b"
	must(t, s.PutInstance(ctx, in))

	a, err := s.Instances(ctx, "a")
	must(t, err)
	equal(t, "old workload", a, []deployer.Instance{})
	b, err := s.Instances(ctx, "b")
	must(t, err)
	equal(t, "new workload", b, []deployer.Instance{in})
}

func TestRoutes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	r1, r2, r3 := route("r1", "web"), route("r2", "api"), route("r3", "web")
	for _, r := range []deployer.Route{r3, r2, r1} {
		must(t, s.PutRoute(ctx, r))
	}
	all, err := s.Routes(ctx, "")
	must(t, err)
	equal(t, "all", all, []deployer.Route{r1, r2, r3})
	web, err := s.Routes(ctx, "web")
	must(t, err)
	equal(t, "web", web, []deployer.Route{r1, r3})

	r1.Upstream = "10.0.0.3:8080" // the switch: same id, new upstream
	must(t, s.PutRoute(ctx, r1))
	must(t, s.DeleteRoute(ctx, "r3"))
	must(t, s.DeleteRoute(ctx, "r3"))
	web, err = s.Routes(ctx, "web")
	must(t, err)
	equal(t, "web after switch and delete", web, []deployer.Route{r1})
}

func TestPutRequiresIDAndWorkload(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	if err := s.PutInstance(ctx, inst("", "web", t0)); err == nil {
		t.Error("instance without id accepted")
	}
	if err := s.PutInstance(ctx, inst("a", "", t0)); err == nil {
		t.Error("instance without workload accepted")
	}
	if err := s.PutRoute(ctx, route("", "web")); err == nil {
		t.Error("route without id accepted")
	}
	if err := s.AppendEvent(ctx, "", deployer.Event{}); err == nil {
		t.Error("event without workload accepted")
	}
}

func event(i int) deployer.Event {
	return deployer.Event{Time: t0.Add(time.Duration(i) * time.Second), Deploy: fmt.Sprint("d", i),
		Outcome: "deployed", Image: "reg/web:v1", Digest: "sha256:x", Source: "api", Took: 3 * time.Second}
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	for i := 1; i <= 3; i++ {
		must(t, s.AppendEvent(ctx, "web", event(i)))
	}
	must(t, s.AppendEvent(ctx, "api", event(9)))

	got, err := s.Events(ctx, "web", 2)
	must(t, err)
	equal(t, "newest two", got, []deployer.Event{event(3), event(2)})
	got, err = s.Events(ctx, "web", 0)
	must(t, err)
	equal(t, "all", got, []deployer.Event{event(3), event(2), event(1)})
	got, err = s.Events(ctx, "nope", 5)
	must(t, err)
	equal(t, "unknown workload", got, []deployer.Event{})
}

func TestEventsCapped(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	total := redisstore.HistoryLen + 250
	for i := 1; i <= total; i++ {
		must(t, s.AppendEvent(ctx, "web", event(i)))
	}
	got, err := s.Events(ctx, "web", 0)
	must(t, err)
	// MAXLEN ~ trims whole stream nodes (100 entries by default).
	if n := len(got); n < redisstore.HistoryLen || n >= redisstore.HistoryLen+100 {
		t.Fatalf("kept %d events, want about %d", n, redisstore.HistoryLen)
	}
	equal(t, "newest", got[0], event(total))
}

func TestNextSeq(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	for want := int64(1); want <= 3; want++ {
		n, err := s.NextSeq(ctx, "deploy")
		must(t, err)
		equal(t, "seq", n, want)
	}
	n, err := s.NextSeq(ctx, "other")
	must(t, err)
	equal(t, "independent counter", n, int64(1))

	// Concurrent callers never get the same number.
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			n, err := s.NextSeq(ctx, "deploy")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[n] {
				t.Errorf("seq %d handed out twice", n)
			}
			seen[n] = true
		})
	}
	wg.Wait()
}

func TestConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := s.PutInstance(ctx, inst(fmt.Sprint("c", i), "web", t0)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.Instances(ctx, "web")
	must(t, err)
	equal(t, "count", len(got), 20)
}

func TestKeysStayUnderPrefix(t *testing.T) {
	ctx := context.Background()
	srv := testsvc.Redis(t)
	a := newStore(t, srv, "")   // DefaultPrefix
	b := newStore(t, srv, "b:") // same Redis, other prefix
	for _, s := range []*redisstore.Store{a, b} {
		must(t, s.PutInstance(ctx, inst("same", "web", t0)))
		must(t, s.PutRoute(ctx, route("same", "web")))
		must(t, s.AppendEvent(ctx, "web", event(1)))
		_, err := s.NextSeq(ctx, "deploy")
		must(t, err)
	}
	must(t, b.DeleteInstance(ctx, "same"))
	must(t, b.DeleteRoute(ctx, "same"))

	ins, err := a.Instances(ctx, "web")
	must(t, err)
	equal(t, "a instances untouched by b's delete", ins, []deployer.Instance{inst("same", "web", t0)})
	routes, err := a.Routes(ctx, "")
	must(t, err)
	equal(t, "a routes untouched by b's delete", routes, []deployer.Route{route("same", "web")})
	n, err := a.NextSeq(ctx, "deploy")
	must(t, err)
	equal(t, "a seq counts only a's calls", n, int64(2))
	ev, err := b.Events(ctx, "web", 0)
	must(t, err)
	equal(t, "b events", len(ev), 1)

	for _, k := range allKeys(t, srv) {
		if !strings.HasPrefix(k, redisstore.DefaultPrefix) && !strings.HasPrefix(k, "b:") {
			t.Errorf("key %q outside both prefixes", k)
		}
	}
	want := []string{"instances", "workload:web:instances", "routes", "workload:web:routes", "events:web", "seq:deploy"}
	keys := map[string]bool{}
	for _, k := range allKeys(t, srv) {
		keys[k] = true
	}
	for _, k := range want {
		if !keys[redisstore.DefaultPrefix+k] {
			t.Errorf("key %q missing from the documented layout", redisstore.DefaultPrefix+k)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := testsvc.Redis(t)

	s, err := redisstore.Open(ctx, srv.URL, "")
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	must(t, s.Ping(ctx))
	must(t, s.Client().Set(ctx, "probe", "1", 0).Err())
	must(t, s.PutRoute(ctx, route("r", "web")))

	closed := fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))
	for _, tc := range []struct{ url, prefix, want string }{
		{"http://127.0.0.1:6379", "", "invalid URL scheme"},
		{"redis://:s3cret@127.0.0.1:notaport/0", "", "invalid port"},
		{"redis://:s3cret@127.0.0.1:6379/notadb", "", "invalid database"},
		{"redis://:s3cret@" + closed + "/0", "", closed},
		{srv.URL, "traefik/", "Traefik"},
	} {
		_, err := redisstore.Open(ctx, tc.url, tc.prefix)
		if err == nil {
			t.Errorf("Open(%q, %q) succeeded", tc.url, tc.prefix)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "open redis ") || !strings.Contains(msg, tc.want) {
			t.Errorf("Open(%q) error %q, want it to say %q", tc.url, msg, tc.want)
		}
		if strings.Contains(msg, "s3cret") {
			t.Errorf("Open(%q) error leaks the password: %q", tc.url, msg)
		}
		t.Logf("%s", msg)
	}
}
