package swarmhost

import (
	"context"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
)

type preflightEngine struct {
	info system.Info
	nets map[string]network.Inspect
	ctrs map[string]container.InspectResponse
}

func (p preflightEngine) Info(context.Context) (system.Info, error) { return p.info, nil }

func (p preflightEngine) NetworkInspect(_ context.Context, id string, _ network.InspectOptions) (network.Inspect, error) {
	if n, ok := p.nets[id]; ok {
		return n, nil
	}
	return network.Inspect{}, cerrdefs.ErrNotFound
}

func (p preflightEngine) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	if c, ok := p.ctrs[id]; ok {
		return c, nil
	}
	return container.InspectResponse{}, cerrdefs.ErrNotFound
}

func TestPreflight(t *testing.T) {
	self := strings.Repeat("ab", 32)
	attached := func(nets ...string) container.InspectResponse {
		ns := &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{}}
		for _, n := range nets {
			ns.Networks[n] = &network.EndpointSettings{}
		}
		return container.InspectResponse{NetworkSettings: ns}
	}
	good := preflightEngine{
		info: system.Info{Swarm: swarm.Info{LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true, NodeID: "n1"}},
		nets: map[string]network.Inspect{
			"apps":  {Name: "apps", Driver: "overlay", Scope: "swarm", Attachable: true},
			"local": {Name: "local", Driver: "bridge", Scope: "local"},
		},
		ctrs: map[string]container.InspectResponse{self: attached("apps")},
	}
	ctx := context.Background()
	if err := CheckManager(ctx, good); err != nil {
		t.Fatalf("manager: %v", err)
	}
	if err := CheckNetwork(ctx, good, "apps", self); err != nil {
		t.Fatalf("attachable overlay the sidecar is on: %v", err)
	}
	worker := good
	worker.info.Swarm.ControlAvailable = false
	inactive := good
	inactive.info.Swarm.LocalNodeState = swarm.LocalNodeStateInactive
	for name, tt := range map[string]struct {
		err  error
		want string
	}{
		"worker":       {CheckManager(ctx, worker), "is a swarm worker: the sidecar must run on a manager node"},
		"no swarm":     {CheckManager(ctx, inactive), `not in a swarm (state "inactive")`},
		"missing net":  {CheckNetwork(ctx, good, "nope", self), "--network nope does not exist"},
		"bridge":       {CheckNetwork(ctx, good, "local", self), "--network local is not an attachable overlay"},
		"not attached": {CheckNetwork(ctx, preflightEngine{nets: good.nets, ctrs: map[string]container.InspectResponse{self: attached("local")}}, "apps", self), "is not attached to --network apps"},
		"no container": {CheckNetwork(ctx, good, "apps", ""), "does not run in a container"},
	} {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", name, tt.err, tt.want)
		}
	}
}

func TestSelfContainer(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	mi := "1 0 0:1 / / rw - overlay overlay rw\n" +
		"2 1 8:1 /var/lib/docker/containers/" + id + "/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n"
	if got := selfContainer(strings.NewReader(mi)); got != id {
		t.Fatalf("selfContainer = %q, want %q", got, id)
	}
	if got := selfContainer(strings.NewReader("1 0 0:1 / / rw - ext4 /dev/sda1 rw\n")); got != "" {
		t.Fatalf("outside a container: %q", got)
	}
}
