package e2e

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// dockerProxy is a TCP proxy in front of the Docker socket that the test
// can cut: every connection (the events stream among them) drops, and new
// ones are refused until it is restored, as when the daemon restarts.
type dockerProxy struct {
	ln     net.Listener
	target func() (net.Conn, error)

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
	cuts  int
}

func newDockerProxy(t *testing.T) *dockerProxy {
	t.Helper()
	network, addr := "unix", "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		u, err := url.Parse(h)
		if err != nil {
			t.Fatalf("DOCKER_HOST %q: %v", h, err)
		}
		switch u.Scheme {
		case "unix":
			addr = u.Path
		case "tcp":
			network, addr = "tcp", u.Host
		default:
			testsvc.Unavailable(t, "DOCKER_HOST scheme %q cannot be proxied by the test", u.Scheme)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dockerProxy{ln: ln, conns: map[net.Conn]bool{},
		target: func() (net.Conn, error) { return net.Dial(network, addr) }}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	return p
}

func (p *dockerProxy) addr() string { return p.ln.Addr().String() }

func (p *dockerProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *dockerProxy) pipe(c net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		_ = c.Close()
		return
	}
	up, err := p.target()
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// cut drops every connection and refuses new ones until restore.
func (p *dockerProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	p.cuts++
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *dockerProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// TestEventsStreamCut cuts the sidecar's connection to Docker (its events
// stream included) while the serving container restarts on a new address,
// which the sidecar cannot see; once Docker is reachable again, the
// sidecar re-subscribes, re-lists, and moves the route to the new address.
// The reconcile interval is an hour, so only the re-list after the
// reconnect can bring that about.
func TestEventsStreamCut(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	rc := s.redisClient()
	px := newDockerProxy(t)
	p := s.launch(procOpts{
		env:  []string{"DOCKER_HOST=tcp://" + px.addr()},
		args: []string{"--reconcile-interval", "1h"},
	})
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	s.waitConverged(p.url, rc, "v1", 30*time.Second)
	served := s.workloadContainers(false)[0]
	oldIP := served.NetworkSettings.Networks[s.network].IPAddress
	subscribed := p.logged(subscribedLine)

	px.cut()
	ctx := context.Background()
	grace := 1
	if err := s.cli.ContainerStop(ctx, served.ID, container.StopOptions{Timeout: &grace}); err != nil {
		t.Fatal(err)
	}
	// A stranger takes the freed address (whatever the IPAM's order), so
	// the restarted container gets another one.
	dummy, err := s.cli.ContainerCreate(ctx, &container.Config{Image: s.base, Labels: map[string]string{testsvc.RunLabel: testsvc.RunID}},
		&container.HostConfig{NetworkMode: container.NetworkMode(s.network)},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.network: {}}}, nil,
		"tf-e2e-dummy-"+s.workload)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.removeContainer(dummy.ID) })
	if err := s.cli.ContainerStart(ctx, dummy.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.cli.ContainerStart(ctx, served.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	in, err := s.cli.ContainerInspect(ctx, served.ID)
	if err != nil {
		t.Fatal(err)
	}
	newIP := in.NetworkSettings.Networks[s.network].IPAddress
	if newIP == "" || newIP == oldIP {
		t.Fatalf("the restarted container kept address %q: the test cannot tell a re-list from luck", oldIP)
	}
	time.Sleep(2 * time.Second) // the sidecar retries against a dead daemon meanwhile
	if got := p.logged(subscribedLine); got != subscribed {
		t.Fatalf("re-subscribed %d times while Docker was unreachable", got-subscribed)
	}
	if st := s.statusAt(p.url); len(st.Routes) != 1 || !strings.HasPrefix(st.Routes[0].Upstream, oldIP+":") {
		t.Fatalf("routes changed while the sidecar was blind: %+v", st.Routes)
	}

	px.restore()
	took := s.waitConverged(p.url, rc, "v1", 30*time.Second)
	st := s.statusAt(p.url)
	if !strings.HasPrefix(st.Routes[0].Upstream, newIP+":") || st.Instances[0].Address != newIP {
		t.Fatalf("after the reconnect: route %s, record %s; want address %s", st.Routes[0].Upstream, st.Instances[0].Address, newIP)
	}
	ended := p.logged(func(l logLine) bool { return strings.HasPrefix(l.Message, "docker events stream ended") })
	t.Logf("address %s -> %s while cut; converged %s after Docker came back (stream-ended logs: %d, re-subscriptions: %d)",
		oldIP, newIP, took.Round(10*time.Millisecond), ended, p.logged(subscribedLine)-subscribed)
	if ended == 0 || p.logged(subscribedLine) <= subscribed {
		t.Error("no re-subscription logged after the cut")
	}
	if len(s.workloadContainers(true)) != 1 || s.workloadContainers(true)[0].Labels[labels.ManagedWorkload] != s.workload {
		t.Error("workload containers changed")
	}
}

func subscribedLine(l logLine) bool { return l.Message == "docker events subscribed; re-listing" }
