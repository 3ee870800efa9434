package sidecar

import (
	"context"
	"fmt"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/poller"
	"github.com/tinyforge/tinyforge/secrets"
)

// testPollInterval names the test-only override of every poll label's
// interval (no flag on purpose: the label's minimum of 30 s protects
// registries; tests lower it to seconds). Never set it in production.
const testPollInterval = "TINYFORGE_TEST_POLL_INTERVAL"

// newPoller wires the registry poller: what serves comes from Docker and
// the stored routes (deployer.Serving), the registry client and its
// credentials from the intake, and what it finds goes into the durable
// inbox through the intake as a delivery of source poll.
func (s *Sidecar) newPoller() *poller.Poller {
	every, _ := time.ParseDuration(osGetenv(testPollInterval))
	if every > 0 {
		s.log.Warn().Dur("every", every).Msg("TEST HOOK: " + testPollInterval + " replaces every poll interval")
	}
	return poller.New(poller.Config{
		Workloads: s.controllers.Workloads,
		Serving: func(ctx context.Context, workload string) (string, string, error) {
			c, _, err := s.servingNow(ctx, workload)
			return c.Labels[labels.ManagedTag], c.Labels[labels.ManagedDigest], err
		},
		Registry: func(w *labels.Workload) poller.Registry { return s.intake.Registry(w) },
		Submit: func(ctx context.Context, w *labels.Workload, tag, digest string) (bool, error) {
			return s.intake.Polled(ctx, w, tag, digest)
		},
		Allow: s.cfg.Images.Allows,
		Every: every,
		Log:   s.log,
	})
}

// servingNow looks up the container serving workload now (Docker and the
// stored routes) and remembers its tag for the intake's policy check.
func (s *Sidecar) servingNow(ctx context.Context, workload string) (deployer.Container, bool, error) {
	cs, err := s.engine.Containers(ctx, workload)
	if err != nil {
		return deployer.Container{}, false, err
	}
	c, ok := s.serving(ctx, workload, cs)
	s.servingTags.Store(workload, c.Labels[labels.ManagedTag])
	return c, ok, nil
}

// servingTag is the intake's cheap look at the tag serving workload: as
// last seen by a deploy, a reconcile pass or servingNow ("" when unknown).
func (s *Sidecar) servingTag(workload string) string {
	if t, ok := s.servingTags.Load(workload); ok {
		return t.(string)
	}
	return ""
}

// learnServing refreshes the serving tags of the declared workloads whose
// policy compares versions (the only ones that read it) from a reconcile
// pass's snapshot.
func (s *Sidecar) learnServing(ctx context.Context, snapshot []deployer.Container) {
	byWorkload := map[string][]deployer.Container{}
	for _, c := range snapshot {
		byWorkload[c.Labels[labels.ManagedWorkload]] = append(byWorkload[c.Labels[labels.ManagedWorkload]], c)
	}
	for name, w := range s.controllers.Workloads() {
		if p, err := w.TagPolicy(); err != nil || !p.Versioned() {
			continue
		}
		c, _ := s.serving(ctx, name, byWorkload[name])
		s.servingTags.Store(name, c.Labels[labels.ManagedTag])
	}
}

// deployFinished hears every deploy's history record: a deploy that
// served remembers its tag as the serving one.
func (s *Sidecar) deployFinished(workload string, ev deployer.Event) {
	if ev.Outcome == deployer.OutcomeDeployed && ev.Tag != "" {
		s.servingTags.Store(workload, ev.Tag)
	}
	s.obs.DeployFinished(workload, ev)
}

// registryLogin is the intake's Credentials: the workload's registry
// label names a login in the vault, which only a workload of the key scope
// that stored it may use (as the deployer's pull checks).
func registryLogin(v *secrets.Vault) func(ctx context.Context, registry, keyScope, host string) (string, string, bool, error) {
	return func(ctx context.Context, registry, keyScope, host string) (string, string, bool, error) {
		scope, err := v.RegistryScope(ctx, registry)
		if err != nil {
			return "", "", false, err
		}
		if scope != keyScope {
			return "", "", false, fmt.Errorf("registry credentials %q %w (%q), not to this workload's (%q)", registry, deployer.ErrForeignScope, scope, keyScope)
		}
		c, err := v.Credential(ctx, registry, host)
		if err != nil {
			return "", "", false, err
		}
		return c.Username, c.Password, true, nil
	}
}
