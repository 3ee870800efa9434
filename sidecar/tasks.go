package sidecar

import (
	"context"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
)

// taskStatus is one task of a deployed version on a swarm, as GET
// /v1/workloads shows it.
type taskStatus struct {
	ID      string `json:"id"`
	Slot    int    `json:"slot"`
	Node    string `json:"node"`
	State   string `json:"state"`
	Desired string `json:"desired"`
	Address string `json:"address,omitempty"` // on the instance's network
	Error   string `json:"error,omitempty"`
}

// tasksOf lists the tasks meant to run of every instance, by instance id;
// nil without --engine swarm. An instance whose tasks cannot be listed
// (its service is gone) is left out, and logged.
func (s *Sidecar) tasksOf(ctx context.Context, instances []deployer.Instance) map[string][]taskStatus {
	if s.swarm == nil || len(instances) == 0 {
		return nil
	}
	out := make(map[string][]taskStatus, len(instances))
	for _, in := range instances {
		tasks, err := s.swarm.Tasks(ctx, in.ID)
		if err != nil {
			s.log.Debug().Err(err).Str(logkey.Container, in.Name).Msg("tasks of instance")
			continue
		}
		list := make([]taskStatus, 0, len(tasks))
		for _, t := range tasks {
			list = append(list, taskStatus{ID: t.ID, Slot: t.Slot, Node: t.Node, State: t.State, Desired: t.Desired,
				Address: t.Addresses[in.Network], Error: t.Err})
		}
		out[in.ID] = list
	}
	return out
}
