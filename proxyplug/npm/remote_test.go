package npm_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// localImages is the real Docker host except that Pull uses the image the
// test built locally.
type localImages struct{ *dockerhost.Host }

func (localImages) Pull(context.Context, string, string) (string, error) { return "", nil }

// TestRemoteModeForwardsToThePublishedPort deploys a real container with
// NPM in remote mode (routes dial the Docker host's address): the proxy
// host NPM receives forwards to the server IP and the container's
// published port, and that address serves the new version, v1 then v2.
func TestRemoteModeForwardsToThePublishedPort(t *testing.T) {
	cli := testsvc.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	img := "tinyforge-test-" + testsvc.RunID + "/npm"
	testsvc.BuildImage(t, cli, img+":v1", map[string]string{"APP_VERSION": "v1"})
	testsvc.BuildImage(t, cli, img+":v2", map[string]string{"APP_VERSION": "v2"})
	workload, network := "web-"+testsvc.RunID, "tf-npm-"+testsvc.RunID
	testsvc.RemoveWorkload(t, cli, workload, network)
	redis := testsvc.Redis(t)
	store, err := redisstore.Open(ctx, redis.URL, "tinyforge:")
	must(t, err)
	t.Cleanup(func() { _ = store.Close() })
	host := dockerhost.New(cli)
	host.NetworkLabels = map[string]string{testsvc.RunLabel: testsvc.RunID}

	f := newFakeNPM(t)
	p := newPlugin(t, f, nil)
	engine, err := deployer.New(deployer.Config{
		Docker: localImages{host}, Proxy: p, Store: store, Coord: store,
		Network: network, Domain: "example.com",
		Labels:      map[string]string{testsvc.RunLabel: testsvc.RunID},
		PublishHost: "127.0.0.1", // the server IP NPM dials, here loopback
		Log:         zerolog.New(zerolog.NewTestWriter(t)),
	})
	must(t, err)
	w := &labels.Workload{Name: workload, Image: img, Port: 8080, Healthcheck: "/health",
		Faces: map[string]*labels.Face{"www": {Subdomain: "www"}}}

	for _, tag := range []string{"v1", "v2"} {
		res, err := engine.Deploy(ctx, w, deployer.Request{Workload: workload, Tag: tag})
		must(t, err)
		h := f.host(1)
		if h["forward_host"] != "127.0.0.1" {
			t.Fatalf("%s: forward_host = %v, want the server IP", tag, h["forward_host"])
		}
		c, err := host.Inspect(ctx, res.Container)
		must(t, err)
		if got := int(h["forward_port"].(float64)); got != c.HostPorts[8080] || got == 0 {
			t.Fatalf("%s: forward_port = %d, want the published port %d", tag, got, c.HostPorts[8080])
		}
		url := fmt.Sprintf("http://%s:%d/", h["forward_host"], int(h["forward_port"].(float64)))
		resp, err := http.Get(url)
		must(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != tag {
			t.Fatalf("%s: %s answered %q", tag, url, body)
		}
	}
	if n := f.count(); n != 1 {
		t.Errorf("%d proxy hosts, want one switched in place", n)
	}
}
