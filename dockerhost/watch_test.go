package dockerhost_test

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestWatchContainerAndHealth checks what the post-switch watch and the
// reconciler read from a real engine: health from both list and inspect,
// a die event on the watched container, and Ping.
func TestWatchContainerAndHealth(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	if err := h.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	img := "tinyforge-test-" + testsvc.RunID + "/app:watch"
	testsvc.BuildImageSpec(t, cli, img, testsvc.ImageSpec{Env: map[string]string{"APP_VERSION": "w"}, Healthcheck: true})
	lbls := map[string]string{testsvc.RunLabel: testsvc.RunID, "tinyforge.test-case": name(t, "c")}
	id, err := h.Create(ctx, deployer.ContainerSpec{Name: name(t, "c"), Image: img, Port: 8080, Network: "bridge", Labels: lbls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}) })
	actions, _ := h.WatchContainer(ctx, id)
	if err := h.Start(ctx, id); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		cs, err := h.List(ctx, map[string]string{"tinyforge.test-case": lbls["tinyforge.test-case"]})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 1 && cs[0].Health == "healthy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list never reported healthy: %+v", cs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, err := h.Inspect(ctx, id)
	if err != nil || c.Health != "healthy" || c.Restarts != 0 {
		t.Fatalf("inspect = %+v, %v; want healthy, no restarts", c, err)
	}

	if err := cli.ContainerKill(ctx, id, "KILL"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	timeout := time.After(15 * time.Second)
	for !seen["die"] {
		select {
		case a := <-actions:
			seen[a] = true
		case <-timeout:
			t.Fatalf("no die event within 15s; saw %v", seen)
		}
	}
	if seen["start"] || seen["create"] {
		t.Errorf("watch let through actions it does not ask for: %v", seen)
	}
}
