// Package demo runs scripts/demo.sh (make demo) end to end, as a user
// would, and checks every line it prints against the real state: at each
// of the demo's checkpoints (DEMO_SYNC) the demo waits while the test
// queries Docker, the sidecar's API and Caddy, and compares the numbers
// the demo printed with the ones it wrote to DEMO_SUMMARY and with the
// deploy history. A line no check recognises fails the test, so a new
// sentence in the demo needs a new check. It is its own package so that it
// runs in parallel with test/e2e. It imports only testsvc, deployer types
// and the Docker client; it must not import the sidecar.
package demo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// demoLabel marks everything the demo creates (DEMO_LABEL in the script).
const demoLabel = "tinyforge-demo"

// TestDemo runs the whole demo and checks each printed sentence.
func TestDemo(t *testing.T) {
	for _, b := range []string{"curl", "redis-server", "docker-registry", "caddy"} {
		testsvc.LookBinary(t, b)
	}
	docker := testsvc.Docker(t)
	d := newDemo(t, docker)
	t.Cleanup(func() { d.checkNothingLeft(t) })

	r := d.start(t)
	t.Cleanup(func() { // after the demo stopped (cleanups run last first)
		if d.testClient != nil {
			d.testClient.stop()
		}
	})
	sections := r.run(t, d.checkSection)
	if err := r.wait(); err != nil {
		t.Errorf("the demo failed: %v\nstderr:\n%s", err, r.stderr.String())
	} else if s := r.stderr.String(); s != "" {
		t.Errorf("the demo wrote to stderr:\n%s", s)
	}
	want := []string{"setup", "v1", "v2", "v3", "rollback", "history", "end"}
	if strings.Join(sections, " ") != strings.Join(want, " ") {
		t.Errorf("the demo reached checkpoints %q, want %q", sections, want)
	}
	if d.testClient == nil {
		t.Errorf("the test's own client never ran")
	} else if d.testClient.failed() > 0 {
		t.Errorf("the test's own client, requesting through Caddy from v1's deploy to the rollback, saw %d failures: %v",
			d.testClient.failed(), d.testClient.failures())
	}
}

// labelled is everything carrying the demo's label, by kind.
type labelled struct{ containers, networks, volumes, images []string }

func (l labelled) empty() bool {
	return len(l.containers)+len(l.networks)+len(l.volumes)+len(l.images) == 0
}

// labelled lists what carries demoLabel=name now; images only tagged
// ones unless allImages (then also the builder's intermediate images).
func (d *demo) labelled(t *testing.T, allImages bool) labelled {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", demoLabel+"="+d.name))
	var out labelled
	cs, err := d.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	for _, c := range cs {
		out.containers = append(out.containers, c.ID)
	}
	ns, err := d.docker.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		t.Fatalf("list networks: %v", err)
	}
	for _, n := range ns {
		out.networks = append(out.networks, n.ID)
	}
	vs, err := d.docker.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		t.Fatalf("list volumes: %v", err)
	}
	for _, v := range vs.Volumes {
		out.volumes = append(out.volumes, v.Name)
	}
	is, err := d.docker.ImageList(ctx, image.ListOptions{All: allImages, Filters: f})
	if err != nil {
		t.Fatalf("list images: %v", err)
	}
	for _, i := range is {
		out.images = append(out.images, i.ID)
	}
	return out
}

// checkNothingLeft fails the test when anything labelled by the demo
// remains after it exited, and removes it so the machine stays clean.
func (d *demo) checkNothingLeft(t *testing.T) {
	left := d.labelled(t, true)
	if left.empty() {
		return
	}
	t.Errorf("the demo left behind, labelled %s=%s: %+v", demoLabel, d.name, left)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, id := range left.containers {
		_ = d.docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	}
	for _, id := range left.networks {
		_ = d.docker.NetworkRemove(ctx, id)
	}
	for _, v := range left.volumes {
		_ = d.docker.VolumeRemove(ctx, v, true)
	}
	for range 2 { // a base image goes once its children are gone
		for _, id := range left.images {
			_, _ = d.docker.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	}
}

// repoRoot is the module's root, where scripts/demo.sh lives.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}
