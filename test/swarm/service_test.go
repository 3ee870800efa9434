package swarm

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
)

// sidecarSvc is the name of the sidecar's service (startSidecarService):
// Caddy's sidecar server dials it by this name.
const sidecarSvc = "tinyforge"

// TestSwarmSidecarService runs the sidecar as a swarm service of two
// replicas on managers (issue 17: "run the sidecar as a service with two
// replicas on managers"), sharing Redis, both listening for webhooks
// behind one address (Caddy's sidecar server, which dials the service
// name). Every deploy pauses a few seconds at the healthy boundary; the
// replica holding v2's deploy there is killed (SIGKILL of its task's
// container through the engine). The other replica, or the task the swarm
// starts in its place, recovers the interrupted deploy once its lock
// expired (its journal) and the request from the dead consumer (the
// inbox): v2 served by exactly one service, one successful record of it,
// one record saying it was recovered, no two v2 services ever seen at
// once, and no failed request through the edge.
func TestSwarmSidecarService(t *testing.T) {
	w := buildWorld(t, nil, true, "TINYFORGE_TEST_PAUSE_AT=healthy:4s", "TINYFORGE_LOCK_TTL=3s")
	if n := len(w.sidecarTasks(true)); n != 2 {
		t.Fatalf("%d sidecar tasks running, want 2", n)
	}

	pushed := w.push("v1")
	served := w.waitServed("v1", 2*time.Minute)
	t.Logf("MEASURED: v1 push to served, sidecar as a service (4 s test pause at healthy included): %s", served.Sub(pushed).Round(time.Millisecond))
	w.checkState("v1")

	l := startLoad(w, 100)
	w.push("v2")
	var victim, victimTask string
	w.eventually(2*time.Minute, "a sidecar replica paused at healthy with v2", func() bool {
		for _, c := range w.sidecarTasks(true) {
			// Paused now: more pauses than resumes (v1's deploy paused too).
			log := w.logs(c.ID, -1)
			if strings.Count(log, "TEST HOOK: deploy paused") > strings.Count(log, "TEST HOOK: deploy resumed") {
				victim, victimTask = c.ID, c.Labels["com.docker.swarm.task.id"]
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.cli.ContainerKill(ctx, victim, "KILL"); err != nil {
		t.Fatalf("docker kill of the sidecar task's container: %v", err)
	}
	killed := time.Now()
	t.Logf("killed task %s (container %.12s), paused at healthy with v2", victimTask, victim)

	maxV2 := 0 // services of v2 seen at once
	w.eventually(3*time.Minute, "v2 alone, served", func() bool {
		svcs := w.services()
		n := 0
		for _, s := range svcs {
			if s.Spec.Labels[labels.ManagedTag] == "v2" {
				n++
			}
		}
		maxV2 = max(maxV2, n)
		if len(svcs) != 1 || n != 1 {
			return false
		}
		code, body, err := w.get(httpClient(), "/")
		return err == nil && code == http.StatusOK && body == "v2"
	})
	t.Logf("MEASURED: killed one of two sidecar replicas paused before the switch: v2 served by one service %s after the kill",
		time.Since(killed).Round(time.Millisecond))
	time.Sleep(time.Second)
	sent, failed, took := l.stop()
	t.Logf("MEASURED: load through the edge across the kill: %d requests in %s, %d failed", sent, took.Round(time.Millisecond), len(failed))
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed; first: %v", len(failed), sent, failed[:min(5, len(failed))])
	}
	if maxV2 > 1 {
		t.Errorf("%d services of v2 at once: two replicas deployed it", maxV2)
	}
	w.checkState("v2")

	// One successful deploy of each version, and the deploy cut by the
	// kill recovered (finished or undone) by the replica that took over,
	// which says so in its record.
	var hist struct {
		Deploys []deployer.Event `json:"deploys"`
	}
	if err := w.getJSON("/v1/workloads/web/deploys?limit=50", &hist); err != nil {
		t.Fatal(err)
	}
	deployed, recovered := map[string]int{}, 0
	for _, ev := range hist.Deploys {
		t.Logf("record %s %s: %s (%s) %s", ev.Deploy, ev.Tag, ev.Outcome, ev.Owner, ev.Note)
		if ev.Outcome == deployer.OutcomeDeployed {
			deployed[ev.Tag]++
		}
		if ev.Tag == "v2" && strings.HasPrefix(ev.Note, "recovered by") {
			recovered++
		}
	}
	if deployed["v1"] != 1 || deployed["v2"] != 1 {
		t.Errorf("successful deploys per tag %v, want exactly one of v1 and one of v2", deployed)
	}
	if recovered != 1 {
		t.Errorf("%d records of v2 recovered after the kill, want 1", recovered)
	}

	// The swarm replaced the killed task: two replicas again.
	w.eventually(time.Minute, "two sidecar tasks running again", func() bool { return len(w.sidecarTasks(true)) == 2 })
	for _, c := range w.sidecarTasks(true) {
		if c.ID == victim {
			t.Errorf("the killed container %.12s runs again", victim)
		}
	}
}

// startSidecarService runs the sidecar as the service sidecarSvc: two
// replicas constrained to managers (the private swarm has one: both run
// there), on the overlay, with the manager's socket, DNS round-robin (no
// VIP without IPVS), restarted by the swarm when killed. Each replica
// names itself (the default instance id: hostname and pid), so the
// inbox sees two consumers. It returns when both tasks run and the API
// answers through Caddy.
func (w *world) startSidecarService(extraEnv []string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	two, delay := uint64(2), time.Second
	_, err := w.cli.ServiceCreate(ctx, swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: sidecarSvc},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: w.images["TINYFORGE_IMAGE"], Env: w.sidecarEnv(extraEnv), User: "0:0",
				Mounts: []mount.Mount{{Type: mount.TypeBind, Source: w.e.Socket, Target: "/var/run/docker.sock"}},
			},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: w.net}},
			Placement:     &swarm.Placement{Constraints: []string{"node.role==manager"}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &delay},
		},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR},
	}, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		w.t.Fatalf("sidecar service: %v", err)
	}
	w.t.Cleanup(func() {
		if !w.t.Failed() {
			return
		}
		for _, c := range w.sidecarTasks(false) {
			w.t.Logf("sidecar task %s (%s) log (tail):\n%s", c.Labels["com.docker.swarm.task.name"], c.State, w.logs(c.ID, 300))
		}
	})
	w.eventually(time.Minute, "two sidecar tasks running, the API answering through Caddy", func() bool {
		if len(w.sidecarTasks(true)) != 2 {
			return false
		}
		resp, err := httpClient().Get(w.api("/healthz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// sidecarTasks lists the containers of the sidecar service's tasks on
// the manager: the running ones, or all when running is false.
func (w *world) sidecarTasks(running bool) []container.Summary {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := w.cli.ContainerList(ctx, container.ListOptions{All: !running,
		Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.name="+sidecarSvc))})
	if err != nil {
		w.t.Fatalf("list sidecar tasks: %v", err)
	}
	return cs
}
