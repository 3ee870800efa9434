package sidecar

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

// networkPruneAge is how old an unused network must be before it is
// removed: a deploy may have just ensured it and not yet started its
// container.
const networkPruneAge = time.Minute

// pruneNetworks removes the networks this sidecar created (in its scope)
// that no container uses and no declared workload names; --network always
// stays. It runs with the periodic reconcile pass, on one Docker host
// only: a swarm's overlay is the operator's.
func (s *Sidecar) pruneNetworks(ctx context.Context) {
	if s.cfg.Engine != EngineDocker || s.docker == nil || !s.controllers.Listed() {
		return
	}
	keep := keptNetworks(s.cfg.Network, s.controllers.Workloads())
	gone, err := s.docker.PruneNetworks(ctx, s.docker.NetworkLabels, keep, networkPruneAge, time.Now())
	if err != nil {
		s.log.Warn().Err(err).Msg("prune unused networks")
	}
	if len(gone) > 0 {
		s.log.Info().Strs("networks", gone).Msg("unused networks removed")
	}
}

// keptNetworks are the networks pruning leaves: the default one and every
// network a declared workload names.
func keptNetworks(def string, workloads map[string]*labels.Workload) []string {
	keep := []string{def}
	for _, w := range workloads {
		if w != nil {
			keep = append(keep, cmp.Or(w.Settings.Network, def))
		}
	}
	slices.Sort(keep)
	return slices.Compact(keep)
}
