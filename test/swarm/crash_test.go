package swarm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/tinyforge/tinyforge/labels"
)

// TestSwarmSidecarKilledMidDeploy kills the sidecar (docker kill: SIGKILL)
// while a deploy waits at a step boundary: before the switch (the new
// service exists, unrouted) and after it (the edge points at the new
// service, the old one still runs). A new sidecar recovers the deploy once
// the lock expired and the durable delivery runs again: each time the
// pushed version ends up served by exactly one service, recorded as the
// one instance, with no failed request through the edge throughout.
func TestSwarmSidecarKilledMidDeploy(t *testing.T) {
	w := newWorld(t, nil)
	w.push("v1")
	w.waitServed("v1", 2*time.Minute)

	l := startLoad(w, 100)
	for _, round := range []struct{ step, tag string }{{"healthy", "v2"}, {"switched", "v3"}} {
		w.replaceSidecar(false, "TINYFORGE_TEST_PAUSE_AT="+round.step, "TINYFORGE_LOCK_TTL=3s")
		w.push(round.tag)
		w.eventually(2*time.Minute, round.tag+" paused at "+round.step, func() bool {
			return strings.Contains(w.logs(w.sidecar, 200), "TEST HOOK: deploy paused")
		})
		w.replaceSidecar(true, "TINYFORGE_LOCK_TTL=3s")
		killed := time.Now()
		served := w.waitServed(round.tag, 2*time.Minute)
		w.eventually(time.Minute, "one service of "+round.tag, func() bool {
			svcs := w.services()
			return len(svcs) == 1 && svcs[0].Spec.Labels[labels.ManagedTag] == round.tag
		})
		t.Logf("MEASURED: killed at %s: %s served %s after the kill, alone %s after", round.step, round.tag,
			served.Sub(killed).Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
		w.checkState(round.tag)
	}
	sent, failed, took := l.stop()
	t.Logf("MEASURED: load through the edge across both kills: %d requests in %s, %d failed", sent, took.Round(time.Millisecond), len(failed))
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed; first: %v", len(failed), sent, failed[:min(5, len(failed))])
	}
}

// replaceSidecar removes the sidecar container (SIGKILL first when kill,
// else a stop) and starts a new one with env added.
func (w *world) replaceSidecar(kill bool, env ...string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if kill {
		if err := w.cli.ContainerKill(ctx, w.sidecar, "KILL"); err != nil {
			w.t.Fatalf("docker kill sidecar: %v", err)
		}
	} else if err := w.cli.ContainerStop(ctx, w.sidecar, container.StopOptions{}); err != nil {
		w.t.Fatalf("docker stop sidecar: %v", err)
	}
	if err := w.cli.ContainerRemove(ctx, w.sidecar, container.RemoveOptions{Force: true}); err != nil {
		w.t.Fatalf("remove sidecar: %v", err)
	}
	w.startSidecar(env)
}
