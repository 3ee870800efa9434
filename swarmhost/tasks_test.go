package swarmhost

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/tinyforge/tinyforge/deployer"
)

func task(slot int, state, desired swarm.TaskState, err string) Task {
	return Task{ID: "t" + string(rune('0'+slot)) + string(state), Slot: slot, Node: "node0123456789abc", State: string(state), Desired: string(desired), Err: err}
}

func TestProgress(t *testing.T) {
	run, shut := swarm.TaskStateRunning, swarm.TaskStateShutdown
	cases := []struct {
		name  string
		want  uint64
		tasks []Task
		done  bool
		err   string
	}{
		{"all running", 2, []Task{task(1, run, run, ""), task(2, run, run, "")}, true, ""},
		{"one preparing", 2, []Task{task(1, run, run, ""), task(2, swarm.TaskStatePreparing, run, "")}, false, ""},
		{"a running task being shut down does not count", 2, []Task{task(1, run, run, ""), task(2, run, shut, "")}, false, ""},
		{"missing image", 1, []Task{task(1, swarm.TaskStateRejected, shut, "No such image: web:v9")}, false, "task 1 on node node01234567 rejected: No such image: web:v9"},
		{"command exits", 1, []Task{task(1, swarm.TaskStateFailed, shut, "task: non-zero exit (1)")}, false, "failed: task: non-zero exit (1)"},
		{"unplaceable", 1, []Task{task(1, swarm.TaskStatePending, run, "no suitable node (scheduling constraints not satisfied on 1 node)")}, false, "task 1 cannot be placed: no suitable node"},
		{"pending for resources is not final", 1, []Task{task(1, swarm.TaskStatePending, run, "")}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done, err := progress(c.want, c.tasks)
			if done != c.done {
				t.Errorf("done = %v, want %v", done, c.done)
			}
			switch {
			case c.err == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("error %v, want it to say %q", err, c.err)
			}
		})
	}
}

func TestFromTask(t *testing.T) {
	st := swarm.Task{
		ID: "tid", ServiceID: "sid", Slot: 2, NodeID: "nid",
		Status:       swarm.TaskStatus{State: swarm.TaskStateRunning, PortStatus: swarm.PortStatus{Ports: []swarm.PortConfig{{Protocol: swarm.PortConfigProtocolTCP, TargetPort: 8080, PublishedPort: 30012, PublishMode: swarm.PortConfigPublishModeHost}}}},
		DesiredState: swarm.TaskStateRunning,
		NetworksAttachments: []swarm.NetworkAttachment{
			{Network: swarm.Network{Spec: swarm.NetworkSpec{Annotations: swarm.Annotations{Name: "tf-net"}}}, Addresses: []string{"10.0.1.7/24"}},
			{Network: swarm.Network{Spec: swarm.NetworkSpec{Annotations: swarm.Annotations{Name: "broken"}}}, Addresses: []string{"not-an-address"}},
		},
	}
	got := fromTask(st)
	if got.Addresses["tf-net"] != "10.0.1.7" || len(got.Addresses) != 1 {
		t.Errorf("addresses %v", got.Addresses)
	}
	if got.HostPorts[8080] != 30012 {
		t.Errorf("host ports %v", got.HostPorts)
	}
	if !got.Running() || got.Slot != 2 || got.Node != "nid" || got.Service != "sid" {
		t.Errorf("task %+v", got)
	}
}

func TestFromService(t *testing.T) {
	two, zero := uint64(2), uint64(0)
	svc := func(r *uint64) swarm.Service {
		return swarm.Service{ID: "sid", Meta: swarm.Meta{CreatedAt: time.Unix(1700000000, 0)}, Spec: swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: "tf-web-v2-1", Labels: map[string]string{"tinyforge.managed": "true"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "web:v2"}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: r}},
		}}
	}
	run, shut := swarm.TaskStateRunning, swarm.TaskStateShutdown
	first := task(1, run, run, "")
	first.Addresses, first.HostPorts = map[string]string{"tf-net": "10.0.1.3"}, map[int]int{8080: 30001}
	second := task(2, run, run, "")
	second.Addresses = map[string]string{"tf-net": "10.0.1.4"}

	c := fromService(svc(&two), []Task{first, task(2, swarm.TaskStateFailed, shut, "exit 1"), second})
	if !c.Running || c.State != StateRunning || c.Restarts != 1 {
		t.Errorf("running %v state %s restarts %d", c.Running, c.State, c.Restarts)
	}
	if c.IPs["tf-net"] != "10.0.1.3" || c.HostPorts[8080] != 30001 {
		t.Errorf("the first running task gives the addresses: %v %v", c.IPs, c.HostPorts)
	}
	wantTasks := []deployer.TaskAt{{Slot: 1, Node: first.Node, State: "running"}, {Slot: 2, Node: second.Node, State: "running"}}
	if !slices.Equal(c.Tasks, wantTasks) {
		t.Errorf("tasks %v, want those meant to run %v", c.Tasks, wantTasks)
	}
	if c.Name != "tf-web-v2-1" || c.Image != "web:v2" || c.Labels["tinyforge.managed"] != "true" || c.ID != "sid" {
		t.Errorf("container %+v", c)
	}
	if c := fromService(svc(&two), []Task{first}); c.Running || c.State != StateStarting {
		t.Errorf("one of two running: running %v state %s", c.Running, c.State)
	}
	if c := fromService(svc(&zero), []Task{task(1, shut, shut, "")}); c.Running || c.State != StateStopped || c.IPs != nil {
		t.Errorf("scaled to zero: running %v state %s ips %v", c.Running, c.State, c.IPs)
	}
}

// nodeEngine answers NodeList with its nodes, counting the calls.
type nodeEngine struct {
	Engine
	nodes []swarm.Node
	err   error
	calls int
}

func (e *nodeEngine) NodeList(context.Context, swarm.NodeListOptions) ([]swarm.Node, error) {
	e.calls++
	return e.nodes, e.err
}

func node(id, host string) swarm.Node {
	return swarm.Node{ID: id, Description: swarm.NodeDescription{Hostname: host}}
}

// Tasks are named by their node's hostname; the manager is asked for the
// nodes only when a task runs on a node not seen yet.
func TestNameNodes(t *testing.T) {
	e := &nodeEngine{nodes: []swarm.Node{node("n1", "vm-a"), node("n2", "vm-b")}}
	h := New(e)
	ctx := context.Background()
	ts := []Task{{Node: "n1"}, {Node: "n2"}, {Node: ""}}
	h.nameNodes(ctx, ts)
	if ts[0].NodeName != "vm-a" || ts[1].NodeName != "vm-b" || ts[2].NodeName != "" || e.calls != 1 {
		t.Fatalf("names %q %q %q after %d lists, want vm-a vm-b \"\" after 1", ts[0].NodeName, ts[1].NodeName, ts[2].NodeName, e.calls)
	}
	again := []Task{{Node: "n2"}}
	h.nameNodes(ctx, again)
	if again[0].NodeName != "vm-b" || e.calls != 1 {
		t.Fatalf("known node: %q after %d lists, want vm-b from the cache", again[0].NodeName, e.calls)
	}
	e.nodes = append(e.nodes, node("n3", "vm-c"))
	joined := []Task{{Node: "n3"}, {Node: "n4"}}
	h.nameNodes(ctx, joined)
	if joined[0].NodeName != "vm-c" || joined[1].NodeName != "" || e.calls != 2 {
		t.Fatalf("new nodes: %q %q after %d lists, want vm-c and none after 2 (one list per pass)", joined[0].NodeName, joined[1].NodeName, e.calls)
	}
	e.err = errors.New("manager busy")
	h2 := New(e)
	failed := []Task{{Node: "n1"}}
	h2.nameNodes(ctx, failed)
	if failed[0].NodeName != "" {
		t.Fatalf("a failed list named the node %q", failed[0].NodeName)
	}
}
