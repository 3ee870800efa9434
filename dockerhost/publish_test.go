package dockerhost_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestPublishedPort: a port in spec.Publish gets an ephemeral host port on
// the given address, Inspect reports it, and the app answers there.
func TestPublishedPort(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	img := "tinyforge-test-" + testsvc.RunID + "/app:publish"
	testsvc.BuildImage(t, cli, img, map[string]string{"APP_VERSION": "published"})
	net := name(t, "net")
	if err := h.EnsureNetwork(ctx, net); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNetwork(t, cli, net) })

	id, err := h.Create(ctx, deployer.ContainerSpec{
		Name: name(t, "c"), Image: img, Port: 8080, Network: net,
		Labels:  map[string]string{testsvc.RunLabel: testsvc.RunID},
		Publish: []int{8080}, PublishIP: "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { _ = h.Remove(context.Background(), id) })
	if err := h.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	c, err := h.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	hp := c.HostPorts[8080]
	if hp == 0 || len(c.HostPorts) != 1 {
		t.Fatalf("HostPorts = %v, want 8080 published", c.HostPorts)
	}
	raw, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range raw.NetworkSettings.Ports["8080/tcp"] {
		if b.HostIP != "127.0.0.1" {
			t.Errorf("binding %+v: want it on 127.0.0.1 only", b)
		}
	}
	if body := waitGet(t, fmt.Sprintf("http://127.0.0.1:%d/", hp)); body != "published" {
		t.Errorf("GET via host port %d = %q, want published", hp, body)
	}
}
