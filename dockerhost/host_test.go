package dockerhost_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// newHost connects to the real engine; networks it creates carry the run label.
func newHost(t *testing.T) (*client.Client, *dockerhost.Host) {
	t.Helper()
	cli := testsvc.Docker(t)
	h := dockerhost.New(cli)
	h.NetworkLabels = map[string]string{testsvc.RunLabel: testsvc.RunID}
	return cli, h
}

// name returns a Docker object name unique to this run and test.
func name(t *testing.T, suffix string) string {
	return fmt.Sprintf("tf-%s-%s-%s", testsvc.RunID, strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-"), suffix)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestPullFromRegistry(t *testing.T) {
	cli, h := newHost(t)
	reg := testsvc.Registry(t, nil)
	repo := reg.Ref("tinyforge-" + testsvc.RunID + "/app")
	ref := repo + ":v1"
	ctx := ctxFor(t, 2*time.Minute)

	start := time.Now()
	testsvc.BuildTestApp(t)
	t.Logf("go build test/testapp (once per process): %s", time.Since(start))

	start = time.Now()
	testsvc.BuildImage(t, cli, ref, map[string]string{"APP_VERSION": "v1"})
	t.Logf("image build: %s", time.Since(start))

	start = time.Now()
	pushed := testsvc.Push(t, cli, ref)
	t.Logf("push: %s (digest %s)", time.Since(start), pushed)
	if pushed == "" {
		t.Fatal("push reported no digest")
	}

	// Prune the build's intermediate images too: the image pulled back has
	// no parent link, so its cleanup could not reach them.
	if _, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true}); err != nil {
		t.Fatalf("remove local tag: %v", err)
	}
	if _, err := cli.ImageInspect(ctx, ref); !cerrdefs.IsNotFound(err) {
		t.Fatalf("image still present after removing the tag: %v", err)
	}

	start = time.Now()
	digest, err := h.Pull(ctx, ref, "")
	t.Logf("pull: %s", time.Since(start))
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if digest != pushed {
		t.Errorf("Pull digest = %q, push reported %q", digest, pushed)
	}
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		t.Errorf("pulled image not present: %v", err)
	}

	// Pulling by digest returns that digest.
	if d, err := h.Pull(ctx, repo+"@"+pushed, ""); err != nil || d != pushed {
		t.Errorf("Pull by digest = %q, %v; want %q", d, err, pushed)
	}
}

func TestPullMissingTag(t *testing.T) {
	_, h := newHost(t)
	reg := testsvc.Registry(t, nil)
	ref := reg.Ref("tinyforge-" + testsvc.RunID + "/app:nope")

	digest, err := h.Pull(ctxFor(t, time.Minute), ref, "")
	if err == nil {
		t.Fatalf("Pull of a missing tag succeeded (digest %q)", digest)
	}
	t.Logf("error: %v", err)
	msg := err.Error()
	if !strings.HasPrefix(msg, "pull "+ref+": ") || !strings.Contains(msg, "manifest unknown") {
		t.Errorf("error %q should start with %q and say manifest unknown", msg, "pull "+ref+": ")
	}
	if !cerrdefs.IsNotFound(err) {
		t.Errorf("error %v: want cerrdefs.IsNotFound", err)
	}
}

// TestPullWaitsForATagBeingLinked: distribution notifies a push before it
// links the tag, so a pull by tag right after the webhook can find no
// manifest. The pull tries again for a few seconds and gets the tag once
// the registry has it.
func TestPullWaitsForATagBeingLinked(t *testing.T) {
	cli, h := newHost(t)
	reg := testsvc.Registry(t, nil)
	repo := "tinyforge-" + testsvc.RunID + "/late"
	ref := reg.Ref(repo + ":v1")
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	pushed := make(chan string, 1)
	go func() {
		time.Sleep(400 * time.Millisecond)
		pushed <- testsvc.UploadImage(t, reg.Host, repo, "v1")
	}()
	digest, err := h.Pull(ctxFor(t, time.Minute), ref, "")
	if err != nil {
		t.Fatalf("Pull of a tag linked 400 ms later: %v", err)
	}
	if want := <-pushed; digest != want {
		t.Errorf("Pull digest = %q, pushed %q", digest, want)
	}
}

func TestEnsureNetworkIdempotent(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, time.Minute)
	net := name(t, "net")
	t.Cleanup(func() { removeNetwork(t, cli, net) })

	// Concurrent first calls race to create, from one Host and from separate
	// Hosts (as separate processes would); all succeed and one network remains.
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		host := h
		if i%2 == 1 {
			host = dockerhost.New(cli)
			host.NetworkLabels = h.NetworkLabels
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = host.EnsureNetwork(ctx, net) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent EnsureNetwork: %v", err)
	}
	if err := h.EnsureNetwork(ctx, net); err != nil {
		t.Fatalf("EnsureNetwork on an existing network: %v", err)
	}

	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", net))})
	if err != nil {
		t.Fatal(err)
	}
	var same []network.Summary
	for _, n := range nets {
		if n.Name == net {
			same = append(same, n)
		}
	}
	if len(same) != 1 {
		t.Fatalf("%d networks named %s, want 1", len(same), net)
	}
	if n := same[0]; n.Driver != "bridge" || n.Labels["tinyforge.managed"] != "true" || n.Labels[testsvc.RunLabel] != testsvc.RunID {
		t.Errorf("network driver %q labels %v: want bridge, managed, run label", n.Driver, n.Labels)
	}
}

func TestContainerLifecycle(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	img := "tinyforge-test-" + testsvc.RunID + "/app:lifecycle"
	testsvc.BuildImage(t, cli, img, map[string]string{"APP_VERSION": "from-image"})
	net := name(t, "net")
	if err := h.EnsureNetwork(ctx, net); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNetwork(t, cli, net) })

	lbls := map[string]string{testsvc.RunLabel: testsvc.RunID, "tf-test.case": name(t, "c")}
	spec := deployer.ContainerSpec{
		Name:    name(t, "c"),
		Image:   img,
		Env:     []string{"APP_VERSION=v1"},
		Port:    8080,
		Network: net,
		Labels:  lbls,
	}
	id, err := h.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { _ = h.Remove(context.Background(), id) })

	raw, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	hc := raw.HostConfig
	if hc.Privileged || hc.NetworkMode.IsHost() || len(hc.CapAdd) > 0 || hc.RestartPolicy.Name != container.RestartPolicyUnlessStopped {
		t.Errorf("host config: privileged=%v network=%s capadd=%v restart=%q", hc.Privileged, hc.NetworkMode, hc.CapAdd, hc.RestartPolicy.Name)
	}
	if _, ok := raw.Config.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v: want 8080/tcp", raw.Config.ExposedPorts)
	}

	if err := h.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	c, err := h.Inspect(ctx, id)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	ip := c.IPs[net]
	if ip == "" || !c.Running || c.State != "running" || c.Name != spec.Name || c.Image != img || c.Labels["tf-test.case"] != lbls["tf-test.case"] || time.Since(c.Created) > time.Minute {
		t.Fatalf("Inspect = %+v", c)
	}

	url := "http://" + ip + ":8080/"
	if body := waitGet(t, url); body != "v1" {
		t.Errorf("GET %s = %q, want v1 (spec.Env overrides the image's ENV)", url, body)
	}

	list, err := h.List(ctx, map[string]string{"tf-test.case": lbls["tf-test.case"]})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].IPs[net] != ip || !list[0].Running || list[0].Name != spec.Name || list[0].Image != img {
		t.Fatalf("List = %+v, want the one container %s at %s", list, id, ip)
	}

	// A request in flight during Stop finishes: the app shuts down gracefully on SIGTERM.
	slow := make(chan string, 1)
	go func() { slow <- get(url + "slow?ms=1500") }()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := h.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	took := time.Since(start)
	if got := <-slow; got != "v1" {
		t.Errorf("in-flight request during Stop = %q, want v1", got)
	}
	if took > 8*time.Second {
		t.Errorf("Stop took %s: the app did not exit on SIGTERM", took)
	}
	t.Logf("stop with a request in flight: %s", took)

	c, err = h.Inspect(ctx, id)
	if err != nil || c.Running || c.State != "exited" {
		t.Fatalf("after Stop: %+v, %v", c, err)
	}
	list, err = h.List(ctx, map[string]string{"tf-test.case": lbls["tf-test.case"]})
	if err != nil || len(list) != 1 || list[0].Running || list[0].State != "exited" {
		t.Fatalf("List after Stop (All) = %+v, %v", list, err)
	}

	if err := h.Remove(ctx, id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := h.Inspect(ctx, id); !cerrdefs.IsNotFound(err) {
		t.Errorf("Inspect after Remove: %v, want not found", err)
	}
	if err := h.Remove(ctx, id); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if err := h.Remove(ctx, "tf-"+testsvc.RunID+"-never-existed"); err != nil {
		t.Errorf("Remove of a missing id: %v", err)
	}
	if err := h.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("Stop of a removed container: %v", err)
	}
}

func TestCreateFailsClearly(t *testing.T) {
	_, h := newHost(t)
	img := "tinyforge-test-" + testsvc.RunID + "/absent:v0"
	_, err := h.Create(ctxFor(t, time.Minute), deployer.ContainerSpec{Name: name(t, "c"), Image: img, Port: 8080, Network: "bridge"})
	if err == nil || !strings.Contains(err.Error(), "create container "+name(t, "c")+" from "+img) {
		t.Fatalf("Create with a missing image: %v", err)
	}
}

func TestEvents(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	img := "tinyforge-test-" + testsvc.RunID + "/app:events"
	testsvc.BuildImage(t, cli, img, map[string]string{"APP_VERSION": "ev"})
	net := name(t, "net")
	if err := h.EnsureNetwork(ctx, net); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNetwork(t, cli, net) })

	lbls := map[string]string{testsvc.RunLabel: testsvc.RunID, "tf-test.case": name(t, "c")}
	since := time.Now()
	evctx, cancel := context.WithCancel(ctx)
	evs, errc := h.Events(evctx, since, map[string]string{"tf-test.case": lbls["tf-test.case"]}, "start", "die")

	id, err := h.Create(ctx, deployer.ContainerSpec{Name: name(t, "c"), Image: img, Port: 8080, Network: net, Labels: lbls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Remove(context.Background(), id) })
	if err := h.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(ctx, id, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	var got []string
	timeout := time.After(20 * time.Second)
	for len(got) < 2 {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("event stream ended: %v (got %v)", <-errc, got)
			}
			if ev.ContainerID != id || ev.Name != name(t, "c") || ev.Labels["tf-test.case"] != lbls["tf-test.case"] || ev.Time.Before(since.Add(-time.Second)) {
				t.Errorf("unexpected event %+v", ev)
			}
			got = append(got, ev.Action)
		case <-timeout:
			t.Fatalf("events: got %v, want [start die]", got)
		}
	}
	if got[0] != "start" || got[1] != "die" {
		t.Errorf("events = %v, want [start die] (create filtered out)", got)
	}

	cancel()
	for range evs {
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("error after cancel = %v, want context.Canceled", err)
	}
}

func removeNetwork(t *testing.T, cli *client.Client, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cli.NetworkRemove(ctx, name); err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("remove network %s: %v", name, err)
	}
}

// waitGet GETs url until it answers 200 (the app needs a moment to listen).
func waitGet(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body, err := tryGet(url)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(url string) string {
	body, err := tryGet(url)
	if err != nil {
		return err.Error()
	}
	return body
}

func tryGet(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return string(b), nil
}

// TestHealthStatusEvents checks that a test image with a HEALTHCHECK (the
// testapp's -probe, no shell needed) reports health through events.
func TestHealthStatusEvents(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	img := "tinyforge-test-" + testsvc.RunID + "/app:health"
	testsvc.BuildImageSpec(t, cli, img, testsvc.ImageSpec{Env: map[string]string{"APP_VERSION": "hc"}, Healthcheck: true})

	lbls := map[string]string{testsvc.RunLabel: testsvc.RunID, "tf-test.case": name(t, "c")}
	evs, _ := h.Events(ctx, time.Now(), map[string]string{"tf-test.case": lbls["tf-test.case"]}, "health_status")
	id, err := h.Create(ctx, deployer.ContainerSpec{Name: name(t, "c"), Image: img, Port: 8080, Network: "bridge", Labels: lbls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Remove(context.Background(), id) })
	start := time.Now()
	if err := h.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-evs:
		if ev.Action != "health_status: healthy" || ev.ContainerID != id {
			t.Errorf("event %+v, want health_status: healthy", ev)
		}
		t.Logf("healthy after %s", time.Since(start))
	case <-time.After(30 * time.Second):
		t.Fatal("no health_status event within 30s")
	}
}
