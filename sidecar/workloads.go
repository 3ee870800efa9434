package sidecar

import (
	"context"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// converge is called when controllers' labels change a workload: it asks
// for the workload's current image again. The deployer turns that into
// nothing (same config), a re-route (faces changed) or a blue-green
// redeploy (runtime config changed). A workload that runs nothing yet, or
// whose image repository changed, waits for its next push.
func (s *Sidecar) converge(ctx context.Context, changed []*labels.Workload) {
	for _, w := range changed {
		log := s.log.With().Str(logkey.Workload, w.Name).Logger()
		cs, err := s.engine.Containers(ctx, w.Name)
		if err != nil {
			log.Error().Err(err).Msg("labels changed, but the running containers cannot be listed")
			continue
		}
		current, ok := s.serving(ctx, w.Name, cs)
		if !ok {
			continue
		}
		image := current.Labels[labels.ManagedImage]
		if !strings.HasPrefix(image, w.Image+":") {
			log.Info().Str(logkey.Image, image).Msg("labels name another image: its next push deploys it")
			continue
		}
		req := deployer.Request{
			Workload: w.Name,
			Tag:      current.Labels[labels.ManagedTag],
			Digest:   current.Labels[labels.ManagedDigest],
			Source:   "labels",
		}
		if err := s.queue.Submit(req); err != nil {
			log.Error().Err(err).Msg("labels changed, but the converge was not queued")
		}
	}
}

// serving picks the container that serves the workload (deployer.Serving)
// from its stored routes; without them (or without Redis) the rule falls
// back to the newest running container.
func (s *Sidecar) serving(ctx context.Context, workload string, cs []deployer.Container) (deployer.Container, bool) {
	var routes []deployer.Route
	if s.store != nil {
		routes, _ = s.store.Routes(ctx, workload)
	}
	return deployer.Serving(cs, routes)
}

// reconcileOnce runs one reconcile pass (see deployer.Engine.Sync) and
// acts on orphaned workloads.
func (s *Sidecar) reconcileOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, reconcileLimit)
	defer cancel()
	s.syncNames(ctx)
	rep, err := s.engine.Sync(ctx, s.controllers.Workloads())
	snapshot := rep.Snapshot
	if rep.Changed+rep.Adopted+rep.Rerouted+rep.Recovered > 0 {
		s.log.Info().Int("containers", rep.Containers).Int("changed", rep.Changed).Int("adopted", rep.Adopted).
			Int("rerouted", rep.Rerouted).Int("recovered", rep.Recovered).Strs("busy", rep.Busy).Msg("reconciled")
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn().Err(err).Msg("reconcile")
		}
		if snapshot == nil {
			return
		}
	}
	if !s.controllers.Listed() { // just started: every workload would look orphaned
		return
	}
	status, expired := s.orphans.Update(snapshot, s.controllers.Declares, time.Now(), s.cfg.OrphanGrace)
	s.mu.Lock()
	for name := range status {
		if _, known := s.orphanStatus[name]; !known {
			s.log.Warn().Str(logkey.Workload, name).Int("containers", status[name].Containers).
				Bool("teardown_enabled", s.cfg.TeardownOrphans).
				Msg("workload orphaned: no controller declares it any more; its containers keep running")
		}
	}
	s.orphanStatus = status
	s.mu.Unlock()
	if !s.cfg.TeardownOrphans {
		return
	}
	for _, name := range expired {
		if s.queue.Busy(name) {
			continue
		}
		if err := s.queue.Submit(deployer.Request{Workload: name, Teardown: true, Source: "orphan"}); err != nil {
			s.log.Error().Err(err).Str(logkey.Workload, name).Msg("orphan teardown not queued")
		}
	}
}
