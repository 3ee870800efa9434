package deployer

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verifyingProxy is a fakeProxy that is also a Verifier: verify decides
// each answer; it is called with the deployer's bounded context.
type verifyingProxy struct {
	*fakeProxy
	verify   func(ctx context.Context, r Route) error
	verified []Route
}

func (p *verifyingProxy) Verify(ctx context.Context, r Route) error {
	p.verified = append(p.verified, r)
	return p.verify(ctx, r)
}

// labellingProxy is a fakeProxy that is also a ContainerLabeler.
type labellingProxy struct{ *fakeProxy }

func (labellingProxy) ContainerLabels(routes []Route) map[string]string {
	out := map[string]string{"proxy.enable": "true", "tinyforge.managed": "forged"}
	for _, r := range routes {
		out["proxy.route."+r.ID] = r.Host
	}
	return out
}

func TestVerifiedSwitchRecordsTheSwitchTime(t *testing.T) {
	f := newFixture(t)
	vp := &verifyingProxy{fakeProxy: f.proxy, verify: func(context.Context, Route) error { return nil }}
	f.engine.Proxy = vp
	v1 := f.mustDeploy(t, "v1")
	if len(vp.verified) != 2 {
		t.Fatalf("verified %d routes, want 2 (both faces)", len(vp.verified))
	}
	for _, r := range vp.verified {
		if r.Container != v1.Container {
			t.Errorf("verified %s for container %s, want the new one %s", r.ID, r.Container, v1.Container)
		}
	}
	ev := f.store.events["web"][0]
	if ev.Switched <= 0 || ev.Switched > ev.Took {
		t.Errorf("event switched = %s (took %s), want a positive part of the deploy", ev.Switched, ev.Took)
	}
}

func TestUnverifiedSwitchIsUndone(t *testing.T) {
	f := newFixture(t)
	v1 := f.mustDeploy(t, "v1")
	before := f.upstreams()
	vp := &verifyingProxy{fakeProxy: f.proxy, verify: func(ctx context.Context, r Route) error {
		if r.Host == "www.example.com" {
			<-ctx.Done() // the proxy never serves it: only the deadline ends this
			return errors.New("still routed to the old upstream")
		}
		return nil
	}}
	f.engine.Proxy = vp
	f.engine.VerifyTimeout = 50 * time.Millisecond

	_, err := f.deploy(t, "v2")
	if err == nil || !strings.Contains(err.Error(), "verify route tf_web__www") || !strings.Contains(err.Error(), "still routed") {
		t.Fatalf("err = %v, want a verify failure naming the route and the proxy's reason", err)
	}
	if got := f.upstreams(); !equalMaps(got, before) {
		t.Fatalf("routes after failed verify = %v, want the previous %v", got, before)
	}
	if len(f.docker.containers) != 1 || !f.docker.containers[v1.Container].Running {
		t.Fatalf("containers = %v, want v1 alone, running", f.docker.containers)
	}
	if evs := f.store.events["web"]; !strings.HasPrefix(evs[len(evs)-1].Outcome, "failed: verify route") {
		t.Fatalf("last event = %+v", evs[len(evs)-1])
	}
}

func TestContainerLabelerLabelsNewContainers(t *testing.T) {
	f := newFixture(t)
	f.engine.Proxy = labellingProxy{f.proxy}
	f.mustDeploy(t, "v1")
	v2 := f.mustDeploy(t, "v2")
	got := f.docker.containers[v2.Container].Labels
	want := map[string]string{
		"proxy.enable":            "true",
		"proxy.route.tf_web__www": "www.example.com",
		"proxy.route.tf_web__api": "api.example.com",
		"tinyforge.managed":       "true", // the deployer's own labels win
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestPublishedPortsRouteThroughTheDockerHost(t *testing.T) {
	f := newFixture(t)
	f.engine = mustNew(t, Config{
		Docker: f.docker, Proxy: f.proxy, Store: f.store, Coord: f.coord, Health: f.engine.Health,
		Network: "net", Domain: "example.com", Log: f.engine.Log,
		PublishHost: "192.0.2.10",
	})
	res := f.mustDeploy(t, "v1")
	c := f.docker.containers[res.Container]
	want := map[string]string{
		"www.example.com": "192.0.2.10:" + strconv.Itoa(c.HostPorts[8080]),
		"api.example.com": "192.0.2.10:" + strconv.Itoa(c.HostPorts[9090]),
	}
	if c.HostPorts[8080] == 0 || c.HostPorts[9090] == 0 {
		t.Fatalf("host ports = %v, want 8080 and 9090 published", c.HostPorts)
	}
	if got := f.upstreams(); !equalMaps(got, want) {
		t.Fatalf("upstreams = %v, want %v", got, want)
	}
	if in := f.store.instances[res.Container]; in.HostPorts[8080] != c.HostPorts[8080] {
		t.Fatalf("instance host ports = %v, want %v", in.HostPorts, c.HostPorts)
	}
	for _, r := range f.proxy.routes {
		if r.Port != 8080 && r.Port != 9090 {
			t.Errorf("route %s port = %d, want the container port", r.ID, r.Port)
		}
	}
}
