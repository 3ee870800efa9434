package swarmhost

import (
	"context"
	"errors"
	"testing"

	"github.com/tinyforge/tinyforge/deployer"
)

// TestNoOneOffOnASwarm: a release command on a swarm fails with a clear
// error before anything is created.
func TestNoOneOffOnASwarm(t *testing.T) {
	h := &Host{} // no engine: nothing may be called
	if _, err := h.Create(context.Background(), deployer.ContainerSpec{Name: "tf-web-release-x", OneOff: true}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Create of a one-off = %v, want ErrUnsupported", err)
	}
	if _, err := h.Wait(context.Background(), "x"); !errors.Is(err, ErrNoOneOff) {
		t.Fatalf("Wait = %v", err)
	}
}
