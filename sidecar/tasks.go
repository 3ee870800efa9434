package sidecar

import (
	"context"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/overview"
)

// tasksOf lists the tasks meant to run of every instance, by instance id;
// nil without --engine swarm. An instance whose tasks cannot be listed
// (its service is gone) is left out, and logged.
func (s *Sidecar) tasksOf(ctx context.Context, instances []deployer.Instance) map[string][]overview.Task {
	if s.swarm == nil || len(instances) == 0 {
		return nil
	}
	out := make(map[string][]overview.Task, len(instances))
	for _, in := range instances {
		tasks, err := s.swarm.Tasks(ctx, in.ID)
		if err != nil {
			s.log.Debug().Err(err).Str(logkey.Container, in.Name).Msg("tasks of instance")
			continue
		}
		list := make([]overview.Task, 0, len(tasks))
		for _, t := range tasks {
			list = append(list, overview.Task{ID: t.ID, Slot: t.Slot, Node: t.Node, NodeName: t.NodeName, State: t.State, Desired: t.Desired,
				Address: t.Addresses[in.Network], Error: t.Err})
		}
		out[in.ID] = list
	}
	return out
}
