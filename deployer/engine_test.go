package deployer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/labels"
)

type fixture struct {
	docker *fakeDocker
	proxy  *fakeProxy
	store  *memStore
	engine *Engine
	w      *labels.Workload
	health func(ctx context.Context, url string) error
	clock  *fakeClock
	coord  *LocalCoordinator
	t      testing.TB
}

// fakeClock moves one millisecond per reading, and jumps on Advance.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newEngine is another sidecar sharing the fixture's Docker, proxy, store
// and coordinator.
func (f *fixture) newEngine(owner string) *Engine {
	return mustNew(f.t, Config{
		Docker: f.docker, Proxy: f.proxy, Store: f.store, Coord: f.coord,
		Health:  healthFunc(func(ctx context.Context, url string) error { return f.health(ctx, url) }),
		Network: "net", Domain: "example.com", Log: zerolog.Nop(),
		Now: f.clock.Now, Owner: owner, LockPoll: time.Millisecond,
	})
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		docker: newFakeDocker(),
		proxy:  &fakeProxy{routes: map[string]Route{}},
		store:  newMemStore(),
		w: &labels.Workload{
			Name: "web", Image: "reg.local/web", Port: 8080, Healthcheck: "/health",
			Faces: map[string]*labels.Face{
				"www": {Subdomain: "www"},
				"api": {Subdomain: "api", TargetPort: 9090},
				"off": {},
			},
		},
		health: func(context.Context, string) error { return nil },
		clock:  &fakeClock{t: time.Unix(1700000000, 0)},
		t:      t,
	}
	f.coord = NewLocalCoordinator(f.store, f.clock.Now)
	f.engine = f.newEngine("a")
	return f
}

// mustNew is New for a config the test knows to be complete.
func mustNew(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) deploy(t *testing.T, tag string) (Result, error) {
	t.Helper()
	res, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: tag, Source: "test"})
	f.drained(f.engine)
	return res, err
}

// drained waits until e's background drains are done: the deploy's
// replaced containers are gone and its journal closed.
func (f *fixture) drained(e *Engine) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.waitDrains(ctx); err != nil {
		f.t.Fatalf("drains not finished: %v", err)
	}
}

func (f *fixture) mustDeploy(t *testing.T, tag string) Result {
	t.Helper()
	res, err := f.deploy(t, tag)
	if err != nil {
		t.Fatalf("deploy %s: %v", tag, err)
	}
	return res
}

func (f *fixture) upstreams() map[string]string {
	out := map[string]string{}
	for _, r := range f.proxy.routes {
		out[r.Host] = r.Upstream
	}
	return out
}

func TestDeploySwitchesEveryFaceAndRemovesTheOld(t *testing.T) {
	f := newFixture(t)
	v1 := f.mustDeploy(t, "v1")
	v2 := f.mustDeploy(t, "v2")

	if len(f.docker.containers) != 1 || f.docker.containers[v2.Container] == nil {
		t.Fatalf("containers after v2 = %v, want only %s", f.docker.containers, v2.Container)
	}
	ip := f.docker.containers[v2.Container].IPs["net"]
	want := map[string]string{"www.example.com": ip + ":8080", "api.example.com": ip + ":9090"}
	if got := f.upstreams(); !equalMaps(got, want) {
		t.Fatalf("routes = %v, want %v", got, want)
	}
	if _, ok := f.store.instances[v1.Container]; ok {
		t.Fatal("record of removed v1 container still in store")
	}
	in := f.store.instances[v2.Container]
	if in.State != StateRunning || in.Routes["www.example.com"] != "tf_web__www" || in.Routes["api.example.com"] != "tf_web__api" {
		t.Fatalf("instance record = %+v", in)
	}
	evs := f.store.events["web"]
	if len(evs) != 2 || evs[1].Outcome != "deployed" || evs[1].Image != "reg.local/web:v2" {
		t.Fatalf("events = %+v", evs)
	}
}

func TestDeployOfRunningImageIsANoop(t *testing.T) {
	f := newFixture(t)
	f.docker.digests["reg.local/web:v1"] = "sha256:aaa"
	first := f.mustDeploy(t, "v1")
	pulls := len(f.docker.pulls)

	res, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v1", Digest: "sha256:aaa"})
	if err != nil || !res.Noop || res.Container != first.Container {
		t.Fatalf("redelivery = %+v, %v; want noop on %s", res, err, first.Container)
	}
	if len(f.docker.pulls) != pulls {
		t.Fatal("a redelivery with a known digest pulled again")
	}
	// Without a digest the pull resolves the tag; same digest = no-op.
	if res := f.mustDeploy(t, "v1"); !res.Noop {
		t.Fatalf("deploy of running tag without digest = %+v, want noop", res)
	}
	if n := len(f.store.events["web"]); n != 1 {
		t.Fatalf("no-ops recorded events: %d events, want 1", n)
	}
	// The tag moved to a new digest: that is a real deploy.
	f.docker.digests["reg.local/web:v1"] = "sha256:bbb"
	if res := f.mustDeploy(t, "v1"); res.Noop || res.Container == first.Container {
		t.Fatalf("deploy of a re-pushed tag = %+v, want a new container", res)
	}
}

func TestDeployFailuresBeforeTheSwitchLeaveTheOldServing(t *testing.T) {
	cases := map[string]func(f *fixture){
		"pull":      func(f *fixture) { f.docker.pullErr = errors.New("manifest unknown") },
		"unhealthy": func(f *fixture) { f.health = func(context.Context, string) error { return ErrUnhealthy } },
		"proxy":     func(f *fixture) { f.proxy.failHost = "www.example.com" },
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			v1 := f.mustDeploy(t, "v1")
			before := f.upstreams()
			breakIt(f)

			res, err := f.deploy(t, "v2")
			if err == nil {
				t.Fatal("deploy succeeded, want failure")
			}
			if len(f.docker.containers) != 1 || f.docker.containers[v1.Container] == nil {
				t.Fatalf("containers = %v, want only v1", f.docker.containers)
			}
			if !f.docker.containers[v1.Container].Running {
				t.Fatal("v1 no longer running")
			}
			if got := f.upstreams(); !equalMaps(got, before) {
				t.Fatalf("routes = %v, want unchanged %v", got, before)
			}
			if _, ok := f.store.instances[res.Container]; ok && res.Container != "" {
				t.Fatal("record of the failed container left in store")
			}
			evs := f.store.events["web"]
			if last := evs[len(evs)-1]; !strings.HasPrefix(last.Outcome, "failed: ") {
				t.Fatalf("last event = %+v, want failed", last)
			}
		})
	}
}

func TestFailedSwitchOnFirstDeployDeletesTheRoutesItMade(t *testing.T) {
	f := newFixture(t)
	f.proxy.failHost = "www.example.com" // api (sorted first) switches, www fails
	if _, err := f.deploy(t, "v1"); err == nil {
		t.Fatal("deploy succeeded, want failure")
	}
	if len(f.proxy.routes) != 0 || len(f.docker.containers) != 0 {
		t.Fatalf("left behind routes %v, containers %v", f.proxy.routes, f.docker.containers)
	}
}

func TestDeployFailsFastWhenTheContainerExits(t *testing.T) {
	f := newFixture(t)
	f.docker.exitOnStart = true
	f.health = func(ctx context.Context, _ string) error { <-ctx.Done(); return ErrUnhealthy }
	f.w.HealthTimeout = 0
	_, err := f.deploy(t, "v1")
	if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("err = %v, want unhealthy naming the exited container", err)
	}
}

func TestDeployKeepsMaxInstances(t *testing.T) {
	f := newFixture(t)
	f.w.MaxInstances = 2
	f.mustDeploy(t, "v1")
	v2 := f.mustDeploy(t, "v2")
	v3 := f.mustDeploy(t, "v3")
	if len(f.docker.containers) != 2 || f.docker.containers[v2.Container] == nil || f.docker.containers[v3.Container] == nil {
		t.Fatalf("containers = %v, want v2 and v3", f.docker.containers)
	}
}

func TestRemovedFaceLosesItsRoute(t *testing.T) {
	f := newFixture(t)
	f.mustDeploy(t, "v1")
	delete(f.w.Faces, "api")
	f.mustDeploy(t, "v2")
	if _, ok := f.proxy.routes["tf_web__api"]; ok {
		t.Fatal("route of removed face still at the proxy")
	}
	if _, ok := f.store.routes["tf_web__api"]; ok {
		t.Fatal("route of removed face still in store")
	}
}

func TestDeployWithoutNetworkFails(t *testing.T) {
	f := newFixture(t)
	f.engine.Network = ""
	if _, err := f.deploy(t, "v1"); !errors.Is(err, ErrNoNetwork) {
		t.Fatalf("err = %v, want ErrNoNetwork", err)
	}
	if len(f.docker.pulls) != 0 {
		t.Fatal("pulled without a network")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDeployPullsAndRunsThePushedDigest(t *testing.T) {
	f := newFixture(t)
	res, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v1", Digest: "sha256:abc"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "reg.local/web@sha256:abc"; len(f.docker.pulls) != 1 || f.docker.pulls[0] != want {
		t.Fatalf("pulled %v, want [%s]: the tag may not be linked yet when the registry notifies", f.docker.pulls, want)
	}
	c := f.docker.containers[res.Container]
	if c.Image != "reg.local/web@sha256:abc" || c.Labels[labels.ManagedImage] != "reg.local/web:v1" {
		t.Fatalf("container image %q, image label %q", c.Image, c.Labels[labels.ManagedImage])
	}
}

func TestTeardownRemovesEverythingOnce(t *testing.T) {
	f := newFixture(t)
	f.w.MaxInstances = 2
	f.mustDeploy(t, "v1")
	f.mustDeploy(t, "v2")
	n, err := f.engine.Teardown(context.Background(), "web")
	if err != nil || n != 4 { // two routes, two containers
		t.Fatalf("teardown = %d, %v; want 4 things removed", n, err)
	}
	if len(f.docker.containers) != 0 || len(f.proxy.routes) != 0 || len(f.store.routes) != 0 || len(f.store.instances) != 0 {
		t.Fatalf("left: containers %v, proxy %v, routes %v, instances %v", f.docker.containers, f.proxy.routes, f.store.routes, f.store.instances)
	}
	events := len(f.store.events["web"])
	if n, err := f.engine.Teardown(context.Background(), "web"); n != 0 || err != nil || len(f.store.events["web"]) != events {
		t.Fatalf("second teardown = %d, %v, and recorded %d events; want a silent no-op", n, err, len(f.store.events["web"])-events)
	}
}

func TestContainersOfAnotherScopeAreInvisible(t *testing.T) {
	f := newFixture(t)
	f.mustDeploy(t, "v1")
	other := newFixture(t)
	other.docker = f.docker // one Docker host, two sidecars
	other.engine.Docker, other.engine.Scope = f.docker, "team-b"
	if cs, err := other.engine.Containers(context.Background(), "web"); err != nil || len(cs) != 0 {
		t.Fatalf("scoped engine sees %d containers of the unscoped one (%v)", len(cs), err)
	}
	res := other.mustDeploy(t, "v1")
	if len(f.docker.containers) != 2 || f.docker.containers[res.Container].Labels["tinyforge.scope"] != "team-b" {
		t.Fatalf("scoped deploy removed or reused the other's container: %v", f.docker.containers)
	}
	if cs, _ := f.engine.Containers(context.Background(), "web"); len(cs) != 1 || cs[0].ID == res.Container {
		t.Fatalf("unscoped engine sees the scoped container: %v", cs)
	}
}

func TestPushOfTheServingDigestUnderAnotherTagIsANoop(t *testing.T) {
	f := newFixture(t)
	first, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v1", Digest: "sha256:aaa"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "latest", Digest: "sha256:aaa"})
	if err != nil || !res.Noop || res.Container != first.Container {
		t.Fatalf("push of the serving digest as latest = %+v, %v; want a no-op on %s", res, err, first.Container)
	}
}
