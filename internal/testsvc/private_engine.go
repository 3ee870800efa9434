package testsvc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// PrivateEngine is a Docker Engine of the test's own: dockerd (with its
// own containerd) in a network namespace of its own, with its own data,
// exec root, socket and cgroup parent, attached to a PrivateNet. A swarm
// made on it disturbs no other engine: the shared engine of the machine
// is never asked to init, join or leave a swarm.
type PrivateEngine struct {
	Name   string // its network namespace, tfpe<run><n>e<i>
	Addr   string // its address on the private net (the host reaches it there)
	Socket string // path of its API socket
	Client *client.Client
	Dir    string
	net    *PrivateNet
	cmd    *exec.Cmd
	exited chan struct{}
}

// NewPrivateEngine starts one engine on a private net of its own.
func NewPrivateEngine(t testing.TB) *PrivateEngine {
	t.Helper()
	return NewPrivateNet(t).Engine(t)
}

// Host is the engine's DOCKER_HOST.
func (e *PrivateEngine) Host() string { return "unix://" + e.Socket }

// Net is the private net the engine is on.
func (e *PrivateEngine) Net() *PrivateNet { return e.net }

// Engine starts dockerd in a new namespace on n and waits until it
// answers (30 s). Cleanup stops it (SIGTERM, then SIGKILL after 30 s),
// kills whatever of it is left (shims, containers by cgroup), detaches
// its mounts and removes its namespace, cgroups and directory, even after
// a failed test.
func (n *PrivateNet) Engine(t testing.TB) *PrivateEngine {
	t.Helper()
	n.mu.Lock()
	n.engines++
	i := n.engines
	n.mu.Unlock()
	e := &PrivateEngine{Name: fmt.Sprintf("%se%d", n.Name, i), net: n, exited: make(chan struct{})}
	e.Dir = filepath.Join(n.dir, e.Name)
	e.Socket = filepath.Join(e.Dir, "sock")
	if err := os.MkdirAll(e.Dir, 0o700); err != nil {
		t.Fatalf("private engine dir: %v", err)
	}
	t.Cleanup(func() { e.remove(t) })
	if err := ipCmd("", "netns", "add", e.Name); err != nil {
		t.Fatalf("private engine %s: %v", e.Name, err)
	}
	addr, err := n.attach(e.Name, i)
	if err != nil {
		t.Fatalf("private engine %s: %v", e.Name, err)
	}
	e.Addr = addr
	cfg := filepath.Join(e.Dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{}\n"), 0o600); err != nil { // not the host's daemon.json
		t.Fatalf("private engine config: %v", err)
	}
	log, err := os.Create(filepath.Join(e.Dir, "dockerd.log"))
	if err != nil {
		t.Fatalf("private engine log: %v", err)
	}
	e.cmd = exec.Command("nsenter", "--net=/var/run/netns/"+e.Name, "dockerd",
		"--config-file", cfg,
		"--data-root", filepath.Join(e.Dir, "root"),
		"--exec-root", filepath.Join(e.Dir, "exec"),
		"--pidfile", filepath.Join(e.Dir, "dockerd.pid"),
		"-H", e.Host(),
		"--storage-driver", "vfs",
		"--cgroup-parent", "/"+e.Name,
		"--insecure-registry", n.Subnet,
	)
	e.cmd.Stdout, e.cmd.Stderr = log, log
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start dockerd in %s: %v", e.Name, err)
	}
	go func() { _ = e.cmd.Wait(); _ = log.Close(); close(e.exited) }()
	if e.Client, err = client.NewClientWithOpts(client.WithHost(e.Host()), client.WithAPIVersionNegotiation()); err != nil {
		t.Fatalf("client of private engine: %v", err)
	}
	if err := e.waitUp(30 * time.Second); err != nil {
		t.Fatalf("private engine %s: %v\n%s", e.Name, err, e.LogTail())
	}
	return e
}

func (e *PrivateEngine) waitUp(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := waitCtx(2 * time.Second)
		_, err := e.Client.Ping(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("dockerd exited: %v", e.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd not answering after %s: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LogTail is the end of the engine's log, for failure messages.
func (e *PrivateEngine) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(e.Dir, "dockerd.log"))
	return string(tail(b, 3000))
}

// InitSwarm makes the engine the manager of a new single-node swarm,
// advertising its private address; overlay subnets come from 10.219/16.
func (e *PrivateEngine) InitSwarm(t testing.TB) {
	t.Helper()
	ctx, cancel := waitCtx(time.Minute)
	defer cancel()
	_, err := e.Client.SwarmInit(ctx, swarm.InitRequest{
		ListenAddr: e.Addr + ":2377", AdvertiseAddr: e.Addr,
		DefaultAddrPool: []string{"10.219.0.0/16"}, SubnetSize: 24,
	})
	if err != nil {
		t.Fatalf("swarm init on %s: %v", e.Name, err)
	}
}

// JoinSwarm joins the engine to manager's swarm as a worker.
func (e *PrivateEngine) JoinSwarm(t testing.TB, manager *PrivateEngine) {
	t.Helper()
	ctx, cancel := waitCtx(time.Minute)
	defer cancel()
	sw, err := manager.Client.SwarmInspect(ctx)
	if err != nil {
		t.Fatalf("swarm of %s: %v", manager.Name, err)
	}
	err = e.Client.SwarmJoin(ctx, swarm.JoinRequest{
		ListenAddr: e.Addr + ":2377", AdvertiseAddr: e.Addr,
		RemoteAddrs: []string{manager.Addr + ":2377"}, JoinToken: sw.JoinTokens.Worker,
	})
	if err != nil {
		t.Fatalf("%s joins the swarm of %s: %v", e.Name, manager.Name, err)
	}
}

// Load copies images from another engine (docker save | docker load).
func (e *PrivateEngine) Load(t testing.TB, from *client.Client, refs ...string) {
	t.Helper()
	ctx, cancel := waitCtx(2 * time.Minute)
	defer cancel()
	r, err := from.ImageSave(ctx, refs)
	if err != nil {
		t.Fatalf("save %v: %v", refs, err)
	}
	defer r.Close()
	resp, err := e.Client.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		t.Fatalf("load %v into %s: %v", refs, e.Name, err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil); err != nil {
		t.Fatalf("load %v into %s: %v", refs, e.Name, err)
	}
}

// Push tags the engine's image src as dst and pushes dst (to a registry
// the engine reaches, such as one on the private net's host address).
func (e *PrivateEngine) Push(t testing.TB, src, dst string) {
	t.Helper()
	ctx, cancel := waitCtx(time.Minute)
	defer cancel()
	if err := e.Client.ImageTag(ctx, src, dst); err != nil {
		t.Fatalf("tag %s as %s on %s: %v", src, dst, e.Name, err)
	}
	body, err := e.Client.ImagePush(ctx, dst, image.PushOptions{RegistryAuth: "e30="})
	if err != nil {
		t.Fatalf("push %s from %s: %v", dst, e.Name, err)
	}
	defer body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(body, io.Discard, 0, false, nil); err != nil {
		t.Fatalf("push %s from %s: %v", dst, e.Name, err)
	}
}

// Stop stops dockerd (SIGTERM; SIGKILL after grace) and waits for it, as
// a node that goes away. Cleanup still removes the rest.
func (e *PrivateEngine) Stop(grace time.Duration) {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(grace):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
}

// remove stops the engine and removes everything it made.
func (e *PrivateEngine) remove(t testing.TB) {
	if e.Client != nil {
		_ = e.Client.Close()
	}
	e.Stop(30 * time.Second)
	killMatching(e.Dir)
	killCgroups(e.Name)
	unmountUnder(e.Dir)
	if err := ipCmd("", "netns", "del", e.Name); err != nil && !strings.Contains(err.Error(), "No such file") {
		t.Errorf("private engine %s: %v", e.Name, err)
	}
	removeCgroups(e.Name)
	if err := os.RemoveAll(e.Dir); err != nil {
		t.Errorf("private engine %s: remove %s: %v", e.Name, e.Dir, err)
	}
}
