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
