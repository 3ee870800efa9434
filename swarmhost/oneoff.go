package swarmhost

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoOneOff: a swarm runs services, not containers that run to
// completion, so release commands are not supported on it (yet).
var ErrNoOneOff = fmt.Errorf("release commands (one-off containers) are not supported on a swarm: remove the workload's release.command label: %w", errors.ErrUnsupported)

// Wait is not supported on a swarm: see ErrNoOneOff.
func (h *Host) Wait(context.Context, string) (int, error) { return -1, ErrNoOneOff }

// Output is not supported on a swarm: see ErrNoOneOff.
func (h *Host) Output(context.Context, string, int) (string, error) { return "", ErrNoOneOff }
