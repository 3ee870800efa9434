package sidecar

import (
	"context"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// converge is called when controllers' labels change a workload: it
// stores a converge in the durable inbox, which redeploys what serves
// when it runs, under the labels of that moment. The deployer turns that
// into nothing (same config), a re-route (faces changed) or a blue-green
// redeploy (runtime config changed). A workload that runs nothing yet, or
// whose image repository changed, waits for its next push.
func (s *Sidecar) converge(ctx context.Context, changed []*labels.Workload) {
	s.obs.checkTargets(changed)
	s.poller.Refresh()
	for _, w := range changed {
		log := s.log.With().Str(logkey.Workload, w.Name).Logger()
		if _, ok := s.convergeTarget(ctx, log, w); !ok {
			continue
		}
		e := redisstore.InboxEntry{Kind: deployer.KindConverge, Workload: w.Name, Image: w.Image, Source: "labels"}
		if err := s.intake.Enqueue(ctx, e); err != nil {
			log.Error().Err(err).Msg("labels changed, but the converge was not stored")
		}
	}
}

// convergeTarget is the container a converge of w redeploys: the one
// serving w, when it runs w's image repository.
func (s *Sidecar) convergeTarget(ctx context.Context, log zerolog.Logger, w *labels.Workload) (deployer.Container, bool) {
	cs, err := s.engine.Containers(ctx, w.Name)
	if err != nil {
		log.Error().Err(err).Msg("labels changed, but the running containers cannot be listed")
		return deployer.Container{}, false
	}
	current, ok := s.serving(ctx, w.Name, cs)
	if !ok {
		return deployer.Container{}, false
	}
	if image := current.Labels[labels.ManagedImage]; !strings.HasPrefix(image, w.Image+":") {
		log.Info().Str(logkey.Image, image).Msg("labels name another image: its next push deploys it")
		return deployer.Container{}, false
	}
	return current, true
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
	start := time.Now()
	rep, err := s.engine.Sync(ctx, s.controllers.Workloads())
	s.metrics.ReconcilePass(time.Since(start))
	snapshot := rep.Snapshot
	if snapshot != nil {
		s.learnServing(ctx, snapshot)
	}
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
	s.observeState(ctx, snapshot, status)
	if !s.cfg.TeardownOrphans {
		return
	}
	for _, name := range expired {
		if s.queue.Busy(name) {
			continue
		}
		e := redisstore.InboxEntry{Kind: deployer.KindTeardown, Workload: name, Source: "orphan"}
		if err := s.intake.Enqueue(ctx, e); err != nil {
			s.log.Error().Err(err).Str(logkey.Workload, name).Msg("orphan teardown not stored")
		}
	}
}
