package intake

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

// Prepare completes a request just before it deploys. It checks
// --allowed-images first and sends no request at all for an image outside
// it (the deployer then refuses it, before the pull). It
// deploys a webhook's digest only when it is the tag's digest in the
// registry (verifyDigest). It resolves the digest when the trigger gave
// none (Docker Hub, Gitea, Quay, the API), so deduplication and history
// work; a tag the registry does not have fails here and touches nothing. It returns false when there is nothing to
// deploy; the outcome is then recorded. Whether the digest already serves
// is the deployer's decision, which also weighs the runtime config and the
// faces (a label change re-requests the serving digest on purpose).
func (in *Intake) Prepare(ctx context.Context, log zerolog.Logger, w *labels.Workload, req deployer.Request) (deployer.Request, bool) {
	tag := w.ResolveTag(req.Tag)
	ref := w.Image + ":" + tag
	if err := in.cfg.Images.Allows(ref); err != nil {
		// Not one request for an image outside the policy: the deployer
		// refuses it before the pull and records the refusal as a deploy.
		log.Debug().Err(err).Msg("digest not resolved: the image is not allowed")
		return req, true
	}
	if req.Digest != "" && carriesDigest(req.Source) {
		return in.verifyDigest(ctx, log, w, req, tag)
	}
	if req.Digest == "" {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		d, err := in.Registry(w).Digest(rctx, w.Image, tag)
		cancel()
		switch {
		case errors.Is(err, registryapi.ErrNotFound):
			in.RecordOutcome(ctx, w, req, ref, "", "failed: "+err.Error())
			return req, false
		case err != nil:
			log.Warn().Err(err).Msg("digest not resolved before the deploy; the pull resolves it")
		default:
			req.Digest = d
		}
	}
	return req, true
}

// RecordOutcome writes the outcome of a request that did not reach the
// deployer to the workload's history, and logs it.
func (in *Intake) RecordOutcome(ctx context.Context, w *labels.Workload, req deployer.Request, ref, digest, outcome string) {
	ev := deployer.Event{Time: time.Now().UTC(), Outcome: outcome, Image: ref, Digest: digest, Source: req.Source,
		Delivery: req.Delivery, Workload: w.Name}
	logEvent(in.log, ev, "request "+outcomeWord(outcome))
	in.cfg.Observer.RequestFinished(w.Name, ev)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := in.store.AppendEvent(ctx, w.Name, ev); err != nil {
		in.log.Error().Err(err).Str(logkey.Workload, w.Name).Msg("record event")
	}
}

// outcomeWord is the first word of an outcome: "failed", "duplicate", ...
func outcomeWord(outcome string) string {
	word, _, _ := strings.Cut(outcome, ":")
	return word
}
