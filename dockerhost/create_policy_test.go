package dockerhost_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestCreateAppliesLimitsAndRefusesHostNamespaces runs against the real
// engine: limits reach the container, and a spec that would share the
// host's network (the one unsafe thing a ContainerSpec can express) is
// refused before anything is created.
func TestCreateAppliesLimitsAndRefusesHostNamespaces(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	img := "tinyforge-test-" + testsvc.RunID + "/app:limits"
	testsvc.BuildImage(t, cli, img, nil)
	lbls := map[string]string{testsvc.RunLabel: testsvc.RunID}

	id, err := h.Create(ctx, deployer.ContainerSpec{Name: name(t, "limited"), Image: img, Port: 8080, Network: "bridge",
		Labels: lbls, NanoCPUs: 500_000_000, MemoryBytes: 64 << 20, PidsLimit: 128})
	if err != nil {
		t.Fatalf("Create with limits: %v", err)
	}
	t.Cleanup(func() { _ = h.Remove(context.Background(), id) })
	raw, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if raw.HostConfig.NanoCPUs != 500_000_000 || raw.HostConfig.Memory != 64<<20 {
		t.Errorf("limits = %d nano-CPUs, %d bytes; want 5e8, 64 MiB", raw.HostConfig.NanoCPUs, raw.HostConfig.Memory)
	}
	if p := raw.HostConfig.PidsLimit; p == nil || *p != 128 {
		t.Errorf("PIDs limit = %v, want 128", p)
	}

	for _, network := range []string{"host", "container:" + id} {
		n := name(t, "unsafe-"+strings.SplitN(network, ":", 2)[0])
		_, err := h.Create(ctx, deployer.ContainerSpec{Name: n, Image: img, Port: 8080, Network: network, Labels: lbls})
		if !errors.Is(err, dockerhost.ErrUnsafe) || !strings.Contains(err.Error(), "create container "+n) {
			t.Errorf("Create on network %q = %v, want ErrUnsafe naming the container", network, err)
		}
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", n))})
		if err != nil || len(cs) != 0 {
			t.Errorf("network %q: %d containers named %s exist after the refusal (%v)", network, len(cs), n, err)
		}
	}
}
