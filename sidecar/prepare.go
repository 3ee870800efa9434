package sidecar

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/registryapi"
)

// prepare completes a request just before it deploys: it resolves the
// digest when the trigger gave none (Docker Hub, Gitea, Quay, the API), so
// deduplication and history work; a tag the registry does not have fails
// here and touches nothing. A request whose digest already serves the
// workload deploys nothing. It returns false when there is nothing to
// deploy; the outcome is then recorded.
func (s *Sidecar) prepare(ctx context.Context, log zerolog.Logger, w *labels.Workload, req deployer.Request) (deployer.Request, bool) {
	tag := w.ResolveTag(req.Tag)
	ref := w.Image + ":" + tag
	if req.Digest == "" {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		d, err := s.hooks.resolver.Digest(rctx, w.Image, tag)
		cancel()
		switch {
		case errors.Is(err, registryapi.ErrNotFound):
			s.recordOutcome(ctx, w, req, ref, "", "failed: "+err.Error())
			return req, false
		case err != nil:
			log.Warn().Err(err).Msg("digest not resolved before the deploy; the pull resolves it")
		default:
			req.Digest = d
		}
	}
	if req.Digest == "" {
		return req, true
	}
	serving, err := s.servingDigests(ctx, w)
	if err != nil {
		log.Warn().Err(err).Msg("serving check; the deployer checks again")
		return req, true
	}
	if serving[req.Digest] {
		s.recordOutcome(ctx, w, req, ref, req.Digest, outcomeDuplicate+": digest "+req.Digest+" already serves")
		return req, false
	}
	return req, true
}

// servingDigests returns the digests of the workload's serving containers
// (see deployer.Serving): those are the (workload, digest) pairs a request
// must not deploy again.
func (s *Sidecar) servingDigests(ctx context.Context, w *labels.Workload) (map[string]bool, error) {
	cs, err := s.hooks.lister.List(ctx, map[string]string{labels.Managed: "true", labels.ManagedWorkload: w.Name})
	if err != nil {
		return nil, err
	}
	routes, err := s.store.Routes(ctx, w.Name)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, c := range deployer.Serving(cs, routes, deployer.HasFaces(w)) {
		if d := c.Labels[labels.ManagedDigest]; d != "" {
			out[d] = true
		}
	}
	return out, nil
}

// recordOutcome writes the outcome of a request that did not reach the
// deployer to the workload's history, and logs it.
func (s *Sidecar) recordOutcome(ctx context.Context, w *labels.Workload, req deployer.Request, ref, digest, outcome string) {
	ev := deployer.Event{Time: time.Now().UTC(), Outcome: outcome, Image: ref, Digest: digest, Source: req.Source,
		Delivery: req.Delivery, Workload: w.Name}
	logEvent(s.log, ev, "request "+outcomeWord(outcome))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.AppendEvent(ctx, w.Name, ev); err != nil {
		s.log.Error().Err(err).Str(logkey.Workload, w.Name).Msg("record event")
	}
}

// outcomeWord is the first word of an outcome: "failed", "duplicate", ...
func outcomeWord(outcome string) string {
	word, _, _ := strings.Cut(outcome, ":")
	return word
}
