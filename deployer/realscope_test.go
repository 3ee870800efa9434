package deployer_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/policy"
	"github.com/tinyforge/tinyforge/redisstore"
)

// These tests run the engine against the real Docker Engine and Redis:
// host claims in Redis, bind directories and volumes in Docker.

// localImages deploys images built on this engine: nothing is pulled.
type localImages struct{ *dockerhost.Host }

func (localImages) Pull(context.Context, string, string) (string, error) { return "", nil }

// memProxy is a routing table in memory.
type memProxy struct {
	mu     sync.Mutex
	routes map[string]deployer.Route
}

func (p *memProxy) Upsert(_ context.Context, r deployer.Route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes[r.ID] = r
	return nil
}

func (p *memProxy) Delete(_ context.Context, r deployer.Route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.routes, r.ID)
	return nil
}

// realEngine is an engine on the real Docker and a Redis of its own
// prefix, with host claims, bind directories below base.
type realEngine struct {
	*deployer.Engine
	cli     *client.Client
	store   *redisstore.Store
	image   string
	network string
	base    string
}

func newRealEngine(t *testing.T, name string, workloads ...string) *realEngine {
	t.Helper()
	cli := testsvc.Docker(t)
	r := &realEngine{cli: cli, image: "tinyforge-test-" + testsvc.RunID + "/" + name, network: "tf-" + name + "-" + testsvc.RunID}
	testsvc.BuildImage(t, cli, r.image+":v1", map[string]string{"APP_VERSION": "v1"})
	for _, w := range workloads {
		testsvc.RemoveWorkload(t, cli, w, r.network)
	}
	ctx := context.Background()
	store, err := redisstore.Open(ctx, testsvc.Redis(t).URL, "tf-test-"+testsvc.RunID+"-"+name+":")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r.store, r.base = store, filepath.Join(root, "volumes")
	host := dockerhost.New(cli)
	host.NetworkLabels = map[string]string{testsvc.RunLabel: testsvc.RunID}
	if host.BindRoots, err = policy.ParsePaths([]string{root}); err != nil {
		t.Fatal(err)
	}
	r.Engine, err = deployer.New(deployer.Config{
		Docker: localImages{host}, Proxy: &memProxy{routes: map[string]deployer.Route{}}, Store: store, Coord: store, Hosts: store,
		Network: r.network, Domain: "example.com", StopGrace: time.Second,
		Labels:  map[string]string{testsvc.RunLabel: testsvc.RunID},
		Volumes: deployer.VolumePolicy{BaseVolumePath: r.base, AllowedPaths: []string{root}},
		Log:     zerolog.New(zerolog.NewTestWriter(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close) // drains end before the store closes
	return r
}

// TestFailedFirstDeployKeepsNoHostInRedis (issue 15, finding 1): a
// workload whose first deploy fails (its image does not exist) leaves no
// claim in Redis, and the workload that means the host then gets it.
func TestFailedFirstDeployKeepsNoHostInRedis(t *testing.T) {
	typo, web := "typo-"+testsvc.RunID, "web-"+testsvc.RunID
	r := newRealEngine(t, "claims", typo, web)
	ctx := context.Background()
	face := map[string]*labels.Face{"www": {Subdomain: "www-" + testsvc.RunID}}
	host := "www-" + testsvc.RunID + ".example.com"

	bad := &labels.Workload{Name: typo, Image: r.image + "-missing", Port: 8080, Faces: face}
	if _, err := r.Deploy(ctx, bad, deployer.Request{Workload: typo, Tag: "v1"}); err == nil {
		t.Fatal("the deploy of a missing image succeeded")
	}
	owners, err := r.store.HostOwners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if owners[host] != "" {
		t.Fatalf("%s still claimed by %s after its only deploy failed", host, owners[host])
	}

	good := &labels.Workload{Name: web, Image: r.image, Port: 8080, Faces: face}
	if _, err := r.Deploy(ctx, good, deployer.Request{Workload: web, Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
	if owners, _ := r.store.HostOwners(ctx); owners[host] != web {
		t.Fatalf("%s owned by %q, want %s", host, owners[host], web)
	}
	if c := r.HostConflicts()[web]; len(c) != 0 {
		t.Fatalf("%s refused: %v", web, c)
	}
}

// TestDataStaysWithItsKeyScope (issue 15, finding 5): a workload deployed
// for key scope team-a writes to its stage directory and named volume;
// once its containers are gone, a controller of scope team-b declaring
// the same name gets other directories and volumes (empty), on the real
// Docker Engine, and a later team-a deploy finds its data again.
func TestDataStaysWithItsKeyScope(t *testing.T) {
	name := "ks-" + testsvc.RunID
	r := newRealEngine(t, "keyscope", name)
	ctx := context.Background()
	declare := func(keyScope string) *labels.Workload {
		return &labels.Workload{Name: name, Image: r.image, Port: 8080, KeyScope: keyScope,
			Volumes: map[string]*labels.Volume{
				"files": {Scope: labels.ScopeStage, Target: "/files"},
				"db":    {Scope: labels.ScopeNamed, Target: "/db", Name: "db"},
			}}
	}
	deploy := func(keyScope string) map[string]container.MountPoint {
		t.Helper()
		res, err := r.Deploy(ctx, declare(keyScope), deployer.Request{Workload: name, Tag: "v1"})
		if err != nil {
			t.Fatalf("deploy for %s: %v", keyScope, err)
		}
		ins, err := r.cli.ContainerInspect(ctx, res.Container)
		if err != nil {
			t.Fatal(err)
		}
		mounts := map[string]container.MountPoint{}
		for _, m := range ins.Mounts {
			mounts[m.Destination] = m
		}
		for _, m := range mounts {
			if m.Type == mount.TypeVolume {
				t.Cleanup(func() { removeVolume(t, r.cli, m.Name) })
			}
		}
		return mounts
	}

	a := deploy("team-a")
	secret := filepath.Join(a["/files"].Source, "team-a-data")
	if err := os.WriteFile(secret, []byte("team a's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Teardown(ctx, name); err != nil {
		t.Fatal(err)
	}

	b := deploy("team-b")
	if b["/files"].Source == a["/files"].Source {
		t.Fatalf("team-b got team-a's stage directory %s", a["/files"].Source)
	}
	if entries, err := os.ReadDir(b["/files"].Source); err != nil || len(entries) != 0 {
		t.Fatalf("team-b's stage directory %s holds %v (%v), want it new and empty", b["/files"].Source, entries, err)
	}
	if b["/db"].Name == a["/db"].Name || b["/db"].Name == "" {
		t.Fatalf("team-b's named volume %q, team-a's %q: want two volumes", b["/db"].Name, a["/db"].Name)
	}
	want := filepath.Join(r.base, "_keyscopes", "team-b", name, "files")
	if b["/files"].Source != want || b["/db"].Name != "tfk-team-b."+name+"_db" {
		t.Fatalf("team-b mounts %s and volume %s, want %s and tfk-team-b.%s_db", b["/files"].Source, b["/db"].Name, want, name)
	}
	if _, err := r.Teardown(ctx, name); err != nil {
		t.Fatal(err)
	}

	again := deploy("team-a")
	if again["/files"].Source != a["/files"].Source || again["/db"].Name != a["/db"].Name {
		t.Fatalf("team-a came back to %v, want its own %v", again, a)
	}
	if got, err := os.ReadFile(secret); err != nil || string(got) != "team a's" {
		t.Fatalf("team-a's data: %q %v", got, err)
	}
}

// removeVolume removes a volume the test's deploys created, once no
// container uses it.
func removeVolume(t *testing.T, cli *client.Client, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("volume", name))})
	for _, c := range cs {
		_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
	if err := cli.VolumeRemove(ctx, name, true); err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("remove volume %s: %v", name, err)
	}
}
