package deployer

import (
	"errors"
	"testing"
)

// TestNewRequiresACoordinator: a store that happens to implement
// Coordinator is not taken for one, and no in-process coordinator is
// guessed: the composition root must choose.
func TestNewRequiresACoordinator(t *testing.T) {
	if _, err := New(Config{Store: newMemStore()}); !errors.Is(err, ErrNoCoordinator) {
		t.Fatalf("New without Coord = %v, want ErrNoCoordinator", err)
	}
	e, err := New(Config{Store: newMemStore(), Coord: NewLocalCoordinator(newMemStore(), nil)})
	if err != nil || e.Coord == nil {
		t.Fatalf("New with Coord = %v, %v", e, err)
	}
}
