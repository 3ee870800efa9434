package swarmhost_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/swarmhost"
)

// fixture is a single-node swarm on a private engine of the test's own
// (the machine's shared engine never joins a swarm), a testapp image on
// it and an overlay network made through the adapter.
type fixture struct {
	cli   *client.Client
	addr  string // the node's address, where its published ports are
	host  *swarmhost.Host
	image string
	net   string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("swarm tests start a private Docker engine: skipped under -short")
	}
	e := testsvc.NewPrivateEngine(t)
	e.InitSwarm(t)
	cli := e.Client
	image := "tf-" + testsvc.RunID + "-" + strings.ToLower(t.Name()) + ":v1"
	testsvc.BuildImage(t, cli, image, map[string]string{"APP_VERSION": "v1"})
	h := swarmhost.New(cli)
	h.Poll = 100 * time.Millisecond
	h.NetworkLabels = map[string]string{testsvc.RunLabel: testsvc.RunID}
	net := "tf-" + testsvc.RunID + "-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.EnsureNetwork(ctx, net); err != nil {
		t.Fatal(err)
	}
	if err := h.EnsureNetwork(ctx, net); err != nil {
		t.Fatalf("a second EnsureNetwork of an existing overlay: %v", err)
	}
	return fixture{cli: cli, addr: e.Addr, host: h, image: image, net: net}
}

// spec is a managed service spec of workload w, labelled with the run so
// that an interrupted run's leftovers are swept.
func (f fixture) spec(w string) deployer.ContainerSpec {
	name := deployer.ContainerName(w+"-"+testsvc.RunID, "v1", time.Now())
	return deployer.ContainerSpec{
		Name:    name,
		Image:   f.image,
		Env:     []string{"PORT=8080"},
		Port:    8080,
		Network: f.net,
		Labels: map[string]string{
			labels.Managed: "true", labels.ManagedWorkload: w + "-" + testsvc.RunID,
			testsvc.RunLabel: testsvc.RunID,
		},
	}
}

// create creates the service and removes it at cleanup.
func (f fixture) create(t *testing.T, spec deployer.ContainerSpec, p swarmhost.Placement) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := f.host.CreateService(ctx, spec, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := f.host.Stop(ctx, id, 0); err != nil {
			t.Error(err)
		}
		if err := f.host.Remove(ctx, id); err != nil {
			t.Error(err)
		}
		testsvc.WaitServiceContainersGone(t, f.cli, id)
	})
	return id
}

func TestServiceLifecycleOnARealSwarm(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	spec := f.spec("web")
	spec.Publish = []int{8080}
	id := f.create(t, spec, swarmhost.Placement{Replicas: 2})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	if err := f.host.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	t.Logf("create → 2 of 2 tasks running: %s", time.Since(start).Round(time.Millisecond))

	tasks, err := f.host.Tasks(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 {
		t.Fatalf("want 2 tasks, got %+v", tasks)
	}
	seen := map[string]bool{}
	for _, task := range tasks {
		addr := task.Addresses[f.net]
		if addr == "" || seen[addr] || !task.Running() {
			t.Fatalf("task %+v: want a running task with its own address on %s", task, f.net)
		}
		seen[addr] = true
		// The sidecar's path: attached to the overlay, it reaches each task.
		if err := testsvc.ProbeOnNetwork(t, f.cli, f.image, f.net, "http://"+addr+":8080/health"); err != nil {
			t.Errorf("task %d from the overlay: %v", task.Slot, err)
		}
		// The host's path: the task's port published on its node.
		hp := task.HostPorts[8080]
		if got := get(t, "http://"+f.addr+":"+strconv.Itoa(hp)+"/"); got != "v1" {
			t.Errorf("task %d through host port %d answered %q, want v1", task.Slot, hp, got)
		}
	}

	// DNS round-robin: the service name resolves to the tasks, no VIP
	// (which needs IPVS) in between.
	for _, name := range []string{spec.Name, "tasks." + spec.Name} {
		if err := testsvc.ProbeOnNetwork(t, f.cli, f.image, f.net, "http://"+name+":8080/health"); err != nil {
			t.Errorf("by name %s: %v", name, err)
		}
	}

	c, err := f.host.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Running || c.Name != spec.Name || c.IPs[f.net] == "" || c.Labels[labels.ManagedWorkload] != spec.Labels[labels.ManagedWorkload] {
		t.Errorf("inspect: %+v", c)
	}
	listed, err := f.host.List(ctx, map[string]string{labels.ManagedWorkload: spec.Labels[labels.ManagedWorkload]})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].ID != id || !listed[0].Running || listed[0].State != swarmhost.StateRunning {
		t.Errorf("list by workload label: %+v", listed)
	}
	if none, err := f.host.List(ctx, map[string]string{labels.ManagedWorkload: "no-such-workload"}); err != nil || len(none) != 0 {
		t.Errorf("list of another workload: %v %+v", err, none)
	}

	start = time.Now()
	if err := f.host.Stop(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop (grace 1 s) → no task running: %s", time.Since(start).Round(time.Millisecond))
	if c, err := f.host.Inspect(ctx, id); err != nil || c.Running || c.State != swarmhost.StateStopped {
		t.Errorf("after stop: %+v %v", c, err)
	}
	if err := f.host.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.host.Inspect(ctx, id); !cerrdefs.IsNotFound(err) {
		t.Errorf("inspect after remove: want not found, got %v", err)
	}
	if err := f.host.Remove(ctx, id); err != nil {
		t.Errorf("removing a removed service: %v", err)
	}
	if err := f.host.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("stopping a removed service: %v", err)
	}
}

func TestStartFailsFastWithTheEnginesReason(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		name   string
		change func(*deployer.ContainerSpec, *swarmhost.Placement)
		says   string
	}{
		{"missing image", func(s *deployer.ContainerSpec, _ *swarmhost.Placement) {
			s.Image = "tf-" + testsvc.RunID + "-missing:v9"
		}, "No such image"},
		{"no node satisfies the placement", func(_ *deployer.ContainerSpec, p *swarmhost.Placement) {
			p.Constraints = []string{"node.labels.tf-test-zone==nowhere"}
		}, "cannot be placed: no suitable node"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec, p := f.spec(strings.ReplaceAll(c.name, " ", "-")), swarmhost.Placement{}
			c.change(&spec, &p)
			id := f.create(t, spec, p)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			err := f.host.Start(ctx, id)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("Start: %v, want an error saying %q", err, c.says)
			}
			if ctx.Err() != nil {
				t.Fatalf("Start waited for its deadline instead of failing fast: %v", err)
			}
			t.Logf("failed in %s: %v", time.Since(start).Round(time.Millisecond), err)
		})
	}
}

// A task that starts and then exits is "running" for a moment, so Start
// may pass; what the deployer watches afterwards (Inspect: not running,
// restarts) must then say the service failed.
func TestInspectReportsACrashingService(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	spec := f.spec("crash")
	spec.Cmd = []string{"-probe", "http://127.0.0.1:1/"} // exits 1 at once
	id := f.create(t, spec, swarmhost.Placement{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	startErr := f.host.Start(ctx, id)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := f.host.Inspect(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if startErr != nil || c.Restarts > 0 {
			t.Logf("start: %v; inspect: state %s running %v restarts %d", startErr, c.State, c.Running, c.Restarts)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("20 s after start of a command that exits: start %v, inspect %+v", startErr, c)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestEnsureNetworkRefusesALocalNetworkOfTheName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	name := "tf-" + testsvc.RunID + "-bridge"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := f.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: map[string]string{testsvc.RunLabel: testsvc.RunID}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.cli.NetworkRemove(context.Background(), resp.ID) })
	err = f.host.EnsureNetwork(ctx, name)
	if err == nil || !strings.Contains(err.Error(), "need an overlay network") {
		t.Fatalf("EnsureNetwork over a bridge: %v", err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	var last error
	for range 20 {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			return string(b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("GET %s: %v", url, last)
	return ""
}
