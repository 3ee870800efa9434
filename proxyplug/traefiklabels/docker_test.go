package traefiklabels_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/proxyplug/traefiklabels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// TestCreatedContainersCarryIdenticalLabels deploys v1 then v2 of a real
// image through the deployer on the real Docker Engine and reads the
// labels Docker holds on both containers: Traefik's labels are the golden
// ones and identical on blue and green.
func TestCreatedContainersCarryIdenticalLabels(t *testing.T) {
	cli := testsvc.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	img := "tinyforge-test-" + testsvc.RunID + "/labels"
	testsvc.BuildImage(t, cli, img+":v1", map[string]string{"APP_VERSION": "v1"})
	testsvc.BuildImage(t, cli, img+":v2", map[string]string{"APP_VERSION": "v2"})
	network := fmt.Sprintf("tf-labels-%s", testsvc.RunID)
	// Workload names are global on the Docker host: the deployer treats
	// every container labelled with the name as the workload's.
	workload := "web-" + testsvc.RunID
	testsvc.RemoveWorkload(t, cli, workload, network)

	redis := testsvc.Redis(t)
	store, err := redisstore.Open(ctx, redis.URL, "tinyforge:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	host := dockerhost.New(cli)
	host.NetworkLabels = map[string]string{testsvc.RunLabel: testsvc.RunID}
	plugin := traefiklabels.New(traefiklabels.Options{Network: network, Settle: 10 * time.Millisecond})
	engine, err := deployer.New(deployer.Config{
		Docker: localImages{host}, Proxy: plugin, Store: store, Coord: store,
		Network: network, Domain: "example.com",
		Labels: map[string]string{testsvc.RunLabel: testsvc.RunID},
		Log:    zerolog.New(zerolog.NewTestWriter(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &labels.Workload{
		Name: workload, Image: img, Port: 8080, Healthcheck: "/health", MaxInstances: 2,
		Faces: map[string]*labels.Face{"www": {Subdomain: "www"}, "api": {Subdomain: "api", TargetPort: 8080}},
	}

	var ids []string
	for _, tag := range []string{"v1", "v2"} {
		res, err := engine.Deploy(ctx, w, deployer.Request{Workload: workload, Tag: tag, Source: "test"})
		if err != nil {
			t.Fatalf("deploy %s: %v", tag, err)
		}
		ids = append(ids, res.Container)
	}
	var got []map[string]string
	for _, id := range ids {
		c, err := cli.ContainerInspect(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.State.Status != container.StateRunning {
			t.Fatalf("container %s is %s", c.Name, c.State.Status)
		}
		got = append(got, traefikOnly(c.Config.Labels))
	}
	if !maps.Equal(got[0], got[1]) {
		t.Fatalf("blue and green carry different Traefik labels:\n%v\n%v", got[0], got[1])
	}
	want := strings.ReplaceAll(strings.ReplaceAll(render(got[0]), network, "<network>"), testsvc.RunID, "<run>")
	golden(t, "created-containers", want)
	for k := range got[0] {
		if !isDocumented(k) {
			t.Errorf("label %s on the container is not a documented Traefik key", k)
		}
	}
}

// localImages is the real Docker host except that Pull uses the image
// the test built locally: what is under test is container creation.
type localImages struct{ *dockerhost.Host }

func (localImages) Pull(context.Context, string, string) (string, error) { return "", nil }

func traefikOnly(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if strings.HasPrefix(k, "traefik.") {
			out[k] = v
		}
	}
	return out
}
