package dockerhost_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// TestPruneNetworks: of the networks the sidecar created in its scope,
// the ones no container uses go, unless kept (the default network, those
// declared workloads name) or just created; a network a running container
// is attached to stays, and so does every network of another scope.
func TestPruneNetworks(t *testing.T) {
	cli, _ := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	scope := "prune-" + testsvc.RunID
	mine := map[string]string{testsvc.RunLabel: testsvc.RunID, labels.Scope: scope}
	h := dockerhost.New(cli)
	h.NetworkLabels = mine
	other := dockerhost.New(cli)
	other.NetworkLabels = map[string]string{testsvc.RunLabel: testsvc.RunID, labels.Scope: "other-" + testsvc.RunID}

	unused, used, kept, foreign := name(t, "unused"), name(t, "used"), name(t, "kept"), name(t, "foreign")
	for _, n := range []struct {
		h    *dockerhost.Host
		name string
	}{{h, unused}, {h, used}, {h, kept}, {other, foreign}} {
		if err := n.h.EnsureNetwork(ctx, n.name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeNetwork(t, cli, n.name) })
	}
	img := "tinyforge-test-" + testsvc.RunID + "/app:prune"
	testsvc.BuildImage(t, cli, img, map[string]string{"APP_VERSION": "prune"})
	id, err := h.Create(ctx, deployer.ContainerSpec{Name: name(t, "c"), Image: img, Port: 8080, Network: used,
		Labels: map[string]string{testsvc.RunLabel: testsvc.RunID}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Remove(context.Background(), id) })
	if err := h.Start(ctx, id); err != nil {
		t.Fatal(err)
	}

	// Just created: nothing goes yet.
	if gone, err := h.PruneNetworks(ctx, mine, []string{kept}, time.Minute, time.Now()); err != nil || len(gone) != 0 {
		t.Fatalf("prune of new networks removed %v (%v), want none", gone, err)
	}
	gone, err := h.PruneNetworks(ctx, mine, []string{kept}, time.Minute, time.Now().Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gone, []string{unused}) {
		t.Fatalf("pruned %v, want only %s", gone, unused)
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", testsvc.RunLabel+"="+testsvc.RunID))})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, n := range nets {
		left = append(left, n.Name)
	}
	for _, want := range []string{used, kept, foreign} {
		if !slices.Contains(left, want) {
			t.Errorf("network %s was removed; left %v", want, left)
		}
	}
	if slices.Contains(left, unused) {
		t.Errorf("network %s is still there", unused)
	}
}
