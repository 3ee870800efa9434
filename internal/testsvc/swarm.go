package testsvc

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Swarms are made only on private engines (NewPrivateEngine, InitSwarm):
// joining or leaving a swarm disturbs the networking of every container
// on an engine, so the machine's shared engine never does.

// WaitServiceContainersGone waits (up to 30 s) until this engine holds no
// container of the service: the nodes remove them after the service, and
// an image or network still in use cannot be removed.
func WaitServiceContainersGone(t testing.TB, cli *client.Client, serviceID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+serviceID))
	for {
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err == nil && len(cs) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("containers of service %s still on the engine after 30 s: %d (%v)", short(serviceID), len(cs), err)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
