package swarm

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestSwarmTwoNodes joins a second private engine to the swarm as a
// worker: the two tasks of a version spread over the nodes (one per
// zone label), and when the worker's engine stops, the swarm reschedules
// its task on the manager while the edge keeps serving.
func TestSwarmTwoNodes(t *testing.T) {
	w := newWorld(t, map[string]string{"tinyforge.workloads.web.placement.preferences": "node.labels.zone"})
	worker := w.e.Net().Engine(t)
	start := time.Now()
	worker.JoinSwarm(t, w.e)
	t.Logf("MEASURED: worker joined in %s", time.Since(start).Round(time.Millisecond))
	managerID, workerID := w.labelNode(w.e, "a"), w.labelNode(worker, "b")

	w.push("v1")
	w.waitServed("v1", 2*time.Minute)
	svc := w.services()[0]
	nodes := map[string]int{}
	for _, task := range w.tasks(svc.ID) {
		nodes[task.NodeID]++
	}
	if nodes[managerID] != 1 || nodes[workerID] != 1 {
		t.Fatalf("tasks per node %v, want one on the manager %s and one on the worker %s", nodes, managerID, workerID)
	}
	w.checkState("v1")

	l := startLoad(w, 100)
	time.Sleep(2 * time.Second)
	stopped := time.Now()
	worker.Stop(30 * time.Second)
	t.Logf("MEASURED: worker engine stopped (SIGTERM) in %s", time.Since(stopped).Round(time.Millisecond))
	var down, moved time.Duration
	w.eventually(2*time.Minute, "both tasks running on the manager", func() bool {
		if down == 0 && w.nodeState(workerID) == swarm.NodeStateDown {
			down = time.Since(stopped)
		}
		n := 0
		for _, task := range w.tasks(svc.ID) {
			if task.NodeID == managerID && task.Status.State == swarm.TaskStateRunning {
				n++
			}
		}
		return n == 2
	})
	moved = time.Since(stopped)
	time.Sleep(2 * time.Second)
	sent, failed, took := l.stop()
	t.Logf("MEASURED: worker Down %s after its engine stopped; both tasks on the manager after %s", down.Round(100*time.Millisecond), moved.Round(100*time.Millisecond))
	t.Logf("MEASURED: load through the edge while the worker went away: %d requests in %s, %d failed", sent, took.Round(time.Millisecond), len(failed))
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed; first: %v", len(failed), sent, failed[:min(5, len(failed))])
	}
	if code, body, err := w.get(httpClient(), "/"); err != nil || code != 200 || body != "v1" {
		t.Fatalf("after the node loss: %d %q %v, want v1", code, body, err)
	}
}

// labelNode sets the zone label of the node of engine e and returns its id.
func (w *world) labelNode(e *testsvc.PrivateEngine, zone string) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := e.Client.Info(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	id := info.Swarm.NodeID
	n, _, err := w.cli.NodeInspectWithRaw(ctx, id)
	if err != nil {
		w.t.Fatalf("inspect node %s: %v", id, err)
	}
	spec := n.Spec
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels["zone"] = zone
	if err := w.cli.NodeUpdate(ctx, id, n.Version, spec); err != nil {
		w.t.Fatalf("label node %s: %v", id, err)
	}
	return id
}

func (w *world) nodeState(id string) swarm.NodeState {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, _, err := w.cli.NodeInspectWithRaw(ctx, id)
	if err != nil {
		return ""
	}
	return n.Status.State
}
