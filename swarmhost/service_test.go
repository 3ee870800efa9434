package swarmhost

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"
)

// recordingEngine keeps what ServiceCreate was given; other methods are
// not used by these tests.
type recordingEngine struct {
	Engine
	spec swarm.ServiceSpec
	opts swarm.ServiceCreateOptions
}

func (e *recordingEngine) ServiceCreate(_ context.Context, s swarm.ServiceSpec, o swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error) {
	e.spec, e.opts = s, o
	return swarm.ServiceCreateResponse{ID: "sid"}, nil
}

func TestCreateSendsNodeCredentialsAndNeverQueriesTheRegistry(t *testing.T) {
	e := &recordingEngine{}
	h := New(e)
	h.Default = Placement{Replicas: 2}
	h.PullAuth = func(_ context.Context, _, ref string) (registry.AuthConfig, bool, error) {
		return registry.AuthConfig{Username: "u", Password: "p", ServerAddress: strings.Split(ref, "/")[0]}, true, nil
	}
	id, err := h.Create(context.Background(), baseSpec())
	if err != nil || id != "sid" {
		t.Fatalf("create: %q %v", id, err)
	}
	if e.opts.QueryRegistry {
		t.Error("QueryRegistry set: the manager would resolve the image in a registry")
	}
	ac, err := registry.DecodeAuthConfig(e.opts.EncodedRegistryAuth)
	if err != nil || ac.Username != "u" || ac.Password != "p" || ac.ServerAddress != "127.0.0.1:5000" {
		t.Errorf("node credentials: %+v %v", ac, err)
	}
	if *e.spec.Mode.Replicated.Replicas != 2 {
		t.Errorf("Create uses the default placement: replicas %d", *e.spec.Mode.Replicated.Replicas)
	}

	h.PullAuth = func(context.Context, string, string) (registry.AuthConfig, bool, error) {
		return registry.AuthConfig{}, false, errors.New("secret store down")
	}
	if _, err := h.Create(context.Background(), baseSpec()); err == nil || !strings.Contains(err.Error(), "secret store down") {
		t.Errorf("a credential that cannot be read must fail the create, got %v", err)
	}
}

// The deployer's replicas and placement (from the labels) go over the
// Default placement: constraints add up, replicas and preferences replace.
func TestCreateTakesTheSpecsPlacement(t *testing.T) {
	e := &recordingEngine{}
	h := New(e)
	h.Default = Placement{Replicas: 2, Constraints: []string{"node.role==worker"}, MaxPerNode: 1}
	spec := baseSpec()
	spec.Replicas = 3
	spec.Constraints = []string{"node.labels.zone==a"}
	spec.Preferences = []string{"node.labels.rack"}
	if _, err := h.Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	p := e.spec.TaskTemplate.Placement
	if got := *e.spec.Mode.Replicated.Replicas; got != 3 {
		t.Errorf("replicas %d, want the spec's 3", got)
	}
	if strings.Join(p.Constraints, ",") != "node.role==worker,node.labels.zone==a" || p.MaxReplicas != 1 {
		t.Errorf("constraints %v max per node %d", p.Constraints, p.MaxReplicas)
	}
	if len(p.Preferences) != 1 || p.Preferences[0].Spread.SpreadDescriptor != "node.labels.rack" {
		t.Errorf("preferences %+v", p.Preferences)
	}
	if len(h.Default.Constraints) != 1 {
		t.Errorf("Create changed the Default placement: %v", h.Default.Constraints)
	}
}
