package testsvc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// SwarmLabel marks, on the swarm's own spec, a swarm that a test
// initialised; its value is the RunID of that run. Only such a swarm is
// ever left by a test: a swarm the machine was already in is not touched.
const SwarmLabel = "tf-test.swarm"

// gwBridge is the bridge the engine creates for swarm tasks; it outlives
// the swarm, so the test that leaves removes it when nothing uses it.
const gwBridge = "docker_gwbridge"

// swarmUse counts the tests of this process using the swarm. Across
// processes, each holds a shared flock on one file while it uses the
// swarm; the last one out gets it exclusively and leaves the swarm.
var swarmUse struct {
	sync.Mutex
	users int
	lock  *os.File
}

// Swarm makes the local engine a single-node swarm manager for the test
// (advertising 127.0.0.1, listening on an ephemeral loopback port) and
// returns a client. A test swarm left by an interrupted run, or made by a
// parallel test process, is reused; the last user leaves it. An engine
// already in a swarm no test made stops the test (Unavailable), as does an
// engine that cannot init one. Skipped under -short: it changes the
// engine's mode and the tests take seconds.
func Swarm(t testing.TB) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("swarm tests need a swarm on the engine: skipped under -short")
	}
	cli := Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	swarmUse.Lock()
	defer swarmUse.Unlock()
	if swarmUse.users == 0 {
		lock, err := joinTestSwarm(ctx, t, cli)
		if err != nil {
			Unavailable(t, "swarm: %v", err)
		}
		swarmUse.lock = lock
		sweepServices(ctx, t, cli)
	}
	swarmUse.users++
	t.Cleanup(func() { releaseSwarm(t, cli) })
	return cli
}

// joinTestSwarm takes the shared lock and makes sure the engine is a
// manager of a test swarm, initialising one when it is in none.
func joinTestSwarm(ctx context.Context, t testing.TB, cli *client.Client) (*os.File, error) {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "tinyforge-test-swarm.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("swarm lock file: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_SH); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("swarm lock: %w", err)
	}
	if err := ensureTestSwarm(ctx, t, cli); err != nil {
		_ = lock.Close() // releases the flock
		return nil, err
	}
	return lock, nil
}

func ensureTestSwarm(ctx context.Context, t testing.TB, cli *client.Client) error {
	info, err := cli.Info(ctx)
	if err != nil {
		return fmt.Errorf("engine info: %w", err)
	}
	switch info.Swarm.LocalNodeState {
	case swarm.LocalNodeStateInactive:
		_, err := cli.SwarmInit(ctx, swarm.InitRequest{
			ListenAddr:    "127.0.0.1:0",
			AdvertiseAddr: "127.0.0.1",
			Spec:          swarm.Spec{Annotations: swarm.Annotations{Labels: map[string]string{SwarmLabel: RunID}}},
		})
		if err == nil {
			t.Logf("initialised test swarm (run %s)", RunID)
			return nil
		}
		// A parallel test process may have won the race: check what is there.
		if again, ierr := cli.Info(ctx); ierr != nil || again.Swarm.LocalNodeState != swarm.LocalNodeStateActive {
			return fmt.Errorf("docker swarm init --advertise-addr 127.0.0.1: %w", err)
		}
	case swarm.LocalNodeStateActive:
	default:
		return fmt.Errorf("engine's swarm state is %q (error: %q): tests use only an inactive engine or a test swarm", info.Swarm.LocalNodeState, info.Swarm.Error)
	}
	sw, err := cli.SwarmInspect(ctx)
	if err != nil {
		return fmt.Errorf("engine is in a swarm but not a manager of it (%w): tests leave that swarm alone", err)
	}
	run, ok := sw.Spec.Labels[SwarmLabel]
	if !ok {
		return fmt.Errorf("engine is in swarm %s, which no tinyforge test created (no %s label): tests leave it alone", short(sw.ID), SwarmLabel)
	}
	if run != RunID {
		t.Logf("reusing test swarm %s made by run %s", short(sw.ID), run)
	}
	return nil
}

// releaseSwarm drops one use; the last user of the process removes this
// run's services, and leaves the swarm when no other process holds it.
func releaseSwarm(t testing.TB, cli *client.Client) {
	swarmUse.Lock()
	defer swarmUse.Unlock()
	if swarmUse.users--; swarmUse.users > 0 {
		return
	}
	lock := swarmUse.lock
	swarmUse.lock = nil
	defer lock.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	removeServices(ctx, t, cli, func(run string, _ time.Time) bool { return run == RunID })
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Logf("test swarm still used by another test process: not leaving it")
		return
	}
	if err := leaveTestSwarm(ctx, cli); err != nil {
		t.Errorf("leave test swarm: %v", err)
	}
}

// leaveTestSwarm leaves the swarm if a test made it, then removes the
// gateway bridge when no container uses it.
func leaveTestSwarm(ctx context.Context, cli *client.Client) error {
	sw, err := cli.SwarmInspect(ctx)
	if err != nil {
		return nil // already left, or not a manager: nothing of ours to leave
	}
	if _, ok := sw.Spec.Labels[SwarmLabel]; !ok {
		return nil
	}
	if err := cli.SwarmLeave(ctx, true); err != nil {
		return fmt.Errorf("docker swarm leave --force: %w", err)
	}
	n, err := cli.NetworkInspect(ctx, gwBridge, network.InspectOptions{})
	if err != nil || len(n.Containers) > 0 {
		return nil
	}
	if err := cli.NetworkRemove(ctx, gwBridge); err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		return fmt.Errorf("remove %s: %w", gwBridge, err)
	}
	return nil
}

// sweepServices removes services other runs left behind (labelled
// RunLabel, older than sweepAge).
func sweepServices(ctx context.Context, t testing.TB, cli *client.Client) {
	cutoff := time.Now().Add(-sweepAge)
	removeServices(ctx, t, cli, func(run string, created time.Time) bool {
		return run != RunID && created.Before(cutoff)
	})
}

// removeServices removes the services labelled RunLabel for which match
// holds, and the overlay networks likewise labelled once their tasks are
// gone.
func removeServices(ctx context.Context, t testing.TB, cli *client.Client, match func(run string, created time.Time) bool) {
	f := filters.NewArgs(filters.Arg("label", RunLabel))
	svcs, err := cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	if err != nil {
		t.Logf("list test services: %v", err)
		return
	}
	for _, s := range svcs {
		if match(s.Spec.Labels[RunLabel], s.CreatedAt) {
			if err := cli.ServiceRemove(ctx, s.ID); err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("remove service %s: %v", s.Spec.Name, err)
			}
		}
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", RunLabel), filters.Arg("driver", "overlay"))})
	if err != nil {
		t.Logf("list test overlay networks: %v", err)
		return
	}
	for _, n := range nets {
		if match(n.Labels[RunLabel], n.Created) {
			if err := removeNetworkWhenFree(ctx, cli, n.ID); err != nil {
				t.Errorf("remove overlay network %s: %v", n.Name, err)
			}
		}
	}
}

// removeNetworkWhenFree removes a network, retrying while tasks of removed
// services still detach from it (the engine stops them asynchronously).
func removeNetworkWhenFree(ctx context.Context, cli *client.Client, id string) error {
	for {
		err := cli.NetworkRemove(ctx, id)
		if err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

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

// SwarmNetwork creates an attachable overlay network for the test, labelled
// with the run, and removes it at cleanup once its tasks are gone.
// Register it before creating services on it, so that their removal
// (registered later) runs first.
func SwarmNetwork(t testing.TB, cli *client.Client, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "overlay", Scope: "swarm", Attachable: true,
		Labels: map[string]string{RunLabel: RunID},
	})
	if err != nil {
		t.Fatalf("create overlay network %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := removeNetworkWhenFree(ctx, cli, resp.ID); err != nil {
			t.Errorf("remove overlay network %s: %v", name, err)
		}
	})
	return resp.ID
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
