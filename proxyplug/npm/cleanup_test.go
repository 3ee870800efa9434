package npm_test

import (
	"context"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/tinyforge/tinyforge/labels"
)

// removeWorkload removes, at cleanup, the containers the deployer made for
// workload and their network. Register it after the images were built, so
// it runs before their removal (cleanups run last-registered first).
func removeWorkload(t *testing.T, cli *client.Client, workload, network string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", labels.ManagedWorkload+"="+workload))})
		if err != nil {
			t.Errorf("list containers of %s: %v", workload, err)
		}
		for _, c := range cs {
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("remove container %s: %v", c.ID[:12], err)
			}
		}
		if err := cli.NetworkRemove(ctx, network); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove network %s: %v", network, err)
		}
	})
}
