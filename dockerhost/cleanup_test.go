package dockerhost_test

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestCleanupRun checks the harness itself: everything labelled with this
// run's id is gone after testsvc.CleanupRun's test ends. It must not run in
// parallel with other tests of the package (CleanupRun removes all of them).
func TestCleanupRun(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	run := filters.NewArgs(filters.Arg("label", testsvc.RunLabel+"="+testsvc.RunID))

	t.Run("inner", func(t *testing.T) {
		img := "tinyforge-test-" + testsvc.RunID + "/app:cleanup"
		testsvc.BuildImage(t, cli, img, nil)
		testsvc.CleanupRun(t, cli) // runs before BuildImage's own cleanup
		net := name(t, "net")
		if err := h.EnsureNetwork(ctx, net); err != nil {
			t.Fatal(err)
		}
		id, err := h.Create(ctx, deployer.ContainerSpec{Name: name(t, "c"), Image: img, Port: 8080, Network: net,
			Labels: map[string]string{testsvc.RunLabel: testsvc.RunID}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: name(t, "vol"), Labels: map[string]string{testsvc.RunLabel: testsvc.RunID}}); err != nil {
			t.Fatal(err)
		}
	})

	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: run})
	if err != nil || len(cs) != 0 {
		t.Errorf("containers left: %d, %v", len(cs), err)
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: run})
	if err != nil || len(ns) != 0 {
		t.Errorf("networks left: %d, %v", len(ns), err)
	}
	is, err := cli.ImageList(ctx, image.ListOptions{All: true, Filters: run})
	if err != nil || len(is) != 0 {
		t.Errorf("images left: %d, %v", len(is), err)
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: run})
	if err != nil || len(vs.Volumes) != 0 {
		t.Errorf("volumes left: %d, %v", len(vs.Volumes), err)
	}
}
