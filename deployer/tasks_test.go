package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// taskDocker is fakeDocker with tasks: every version runs replicas tasks
// at 10.0.<container>.<slot>.
type taskDocker struct {
	*fakeDocker
}

func (d taskDocker) TaskAddresses(_ context.Context, id, _ string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int
	for i, s := range d.specs { // ids are c1, c2, ... in create order
		if fmt.Sprintf("c%d", i+1) == id {
			n = s.Replicas
		}
	}
	var out []string
	for slot := 1; slot <= n; slot++ {
		out = append(out, fmt.Sprintf("10.0.%s.%d", strings.TrimPrefix(id, "c"), slot))
	}
	return out, nil
}

// Inspect adds the tasks of the version: slot s on node "n<s>" (hostname
// "host-<s>"), running, or in state taskState when set.
func (d taskDocker) Inspect(ctx context.Context, id string) (Container, error) {
	c, err := d.fakeDocker.Inspect(ctx, id)
	if err != nil {
		return c, err
	}
	addrs, _ := d.TaskAddresses(ctx, id, "")
	for slot := range len(addrs) {
		c.Tasks = append(c.Tasks, TaskAt{Slot: slot + 1, Node: fmt.Sprintf("n%d", slot+1), NodeName: fmt.Sprintf("host-%d", slot+1), State: "running"})
	}
	return c, nil
}

func newTaskFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.engine.Docker = taskDocker{f.docker}
	return f
}

// With an engine of tasks, every task of the new version is probed
// before the switch; one unhealthy task fails the deploy and removes
// only the new version.
func TestDeployProbesEveryTask(t *testing.T) {
	f := newTaskFixture(t)
	f.w.Replicas = 3
	var mu sync.Mutex
	var probed []string
	f.health = func(_ context.Context, url string) error {
		mu.Lock()
		defer mu.Unlock()
		probed = append(probed, url)
		return nil
	}
	v1 := f.mustDeploy(t, "v1")
	slices.Sort(probed)
	want := []string{"http://10.0.1.1:8080/health", "http://10.0.1.2:8080/health", "http://10.0.1.3:8080/health"}
	if !slices.Equal(probed, want) {
		t.Fatalf("probed %v, want every task: %v", probed, want)
	}
	if got := f.docker.specs[0]; got.Replicas != 3 {
		t.Fatalf("spec replicas = %d, want 3", got.Replicas)
	}

	f.health = func(ctx context.Context, url string) error {
		if strings.HasPrefix(url, "http://10.0.2.2:") { // task 2 of v2
			return fmt.Errorf("%w: status 500", ErrUnhealthy)
		}
		return nil
	}
	_, err := f.deploy(t, "v2")
	if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "task at 10.0.2.2") {
		t.Fatalf("err = %v, want unhealthy naming task 10.0.2.2", err)
	}
	if len(f.docker.containers) != 1 || f.docker.containers[v1.Container] == nil {
		t.Fatalf("containers = %v, want only v1", f.docker.containers)
	}
}

// Placement and replicas go to the engine with tasks; one Docker host
// refuses them before any pull.
func TestPlacementNeedsAnEngineOfTasks(t *testing.T) {
	f := newFixture(t)
	f.w.Replicas = 2
	if _, err := f.deploy(t, "v1"); !errors.Is(err, ErrNeedsSwarm) || !strings.Contains(err.Error(), "replicas=2") {
		t.Fatalf("err = %v, want ErrNeedsSwarm naming replicas", err)
	}
	f.w.Replicas = 0
	f.w.Placement.Constraints = "node.role==worker"
	if _, err := f.deploy(t, "v1"); !errors.Is(err, ErrNeedsSwarm) {
		t.Fatalf("err = %v, want ErrNeedsSwarm", err)
	}
	if len(f.docker.pulls) != 0 {
		t.Fatalf("pulled %v before refusing", f.docker.pulls)
	}

	f = newTaskFixture(t)
	f.w.Placement.Constraints = "node.role==worker, node.labels.zone!=b"
	f.w.Placement.Preferences = "node.labels.zone"
	f.mustDeploy(t, "v1")
	s := f.docker.specs[0]
	if !slices.Equal(s.Constraints, []string{"node.role==worker", "node.labels.zone!=b"}) || !slices.Equal(s.Preferences, []string{"node.labels.zone"}) || s.Replicas != 1 {
		t.Fatalf("spec placement = %v %v replicas %d", s.Constraints, s.Preferences, s.Replicas)
	}
}

// A deploy's record says where the new version's tasks ran: a success
// after its watch, a failure before its new version is removed. One
// Docker host records none.
func TestRecordKeepsTheTasks(t *testing.T) {
	f := newTaskFixture(t)
	f.w.Replicas = 2
	f.mustDeploy(t, "v1")
	evs := Deploys(f.store.events["web"])
	want := []TaskAt{{Slot: 1, Node: "n1", NodeName: "host-1", State: "running"}, {Slot: 2, Node: "n2", NodeName: "host-2", State: "running"}}
	if len(evs) != 1 || !slices.Equal(evs[0].Tasks, want) {
		t.Fatalf("records %+v, want one with tasks %v", evs, want)
	}
	if got := evs[0].TaskSummary(); got != "2 tasks running on host-1, host-2" {
		t.Errorf("summary %q", got)
	}

	f.health = func(context.Context, string) error { return fmt.Errorf("%w: status 500", ErrUnhealthy) }
	if _, err := f.deploy(t, "v2"); !errors.Is(err, ErrUnhealthy) {
		t.Fatalf("v2: %v, want unhealthy", err)
	}
	evs = Deploys(f.store.events["web"])
	if last := evs[len(evs)-1]; !strings.HasPrefix(last.Outcome, OutcomeFailed) || !slices.Equal(last.Tasks, want) {
		t.Fatalf("failed record %+v, want its tasks %v", last, want)
	}

	f = newFixture(t)
	f.mustDeploy(t, "v1")
	if evs := f.store.events["web"]; len(evs) != 1 || evs[0].Tasks != nil {
		t.Fatalf("one Docker host: records %+v, want one without tasks", evs)
	}
}

func TestSummarizeTasks(t *testing.T) {
	run := func(slot int, node, name, state string) TaskAt {
		return TaskAt{Slot: slot, Node: node, NodeName: name, State: state}
	}
	cases := []struct {
		tasks []TaskAt
		want  string
	}{
		{nil, ""},
		{[]TaskAt{run(1, "aaaaaaaaaaaaaaaaaaaaaaaaa", "", "running")}, "1 task running on aaaaaaaaaaaa"},
		{[]TaskAt{run(1, "n1", "vm-a", "running"), run(2, "n1", "vm-a", "running")}, "2 tasks running on vm-a (2)"},
		{[]TaskAt{run(1, "n1", "vm-a", "running"), run(2, "n2", "vm-b", "preparing"), run(3, "n3", "vm-c", "running")},
			"3 tasks: 2 running on vm-a, vm-c; 1 preparing on vm-b"},
		// Two nodes of one hostname (engines sharing a machine) are told apart.
		{[]TaskAt{run(1, "n1xxxxxxxxxxxyyy", "vm", "running"), run(2, "n2xxxxxxxxxxxyyy", "vm", "running")},
			"2 tasks running on vm/n1xxxxxxxxxx, vm/n2xxxxxxxxxx"},
	}
	for _, c := range cases {
		if got := SummarizeTasks(c.tasks); got != c.want {
			t.Errorf("SummarizeTasks(%v) = %q, want %q", c.tasks, got, c.want)
		}
	}
}
