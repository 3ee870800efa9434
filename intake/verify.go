package intake

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/registryapi"
)

// carriesDigest reports whether requests of source name a digest that a
// webhook sender chose: those are checked against the registry. A
// rollback or a converge names a digest the sidecar itself recorded.
func carriesDigest(source string) bool {
	switch source {
	case SourceDistribution, SourceGitHub, SourceGitea, SourceHarbor, SourceDockerHub, SourceQuay:
		return true
	}
	return false
}

// verifyTries and verifyFirstWait bound how long verifyDigest waits for
// the registry to point the tag at the pushed digest: distribution sends
// its notification before it links the tag, so the first look may still
// see the old digest, or no tag.
const (
	verifyTries     = 5
	verifyFirstWait = 100 * time.Millisecond
)

// verifyDigest deploys a webhook's digest only when the registry says the
// tag points at it: the tags filter and the allow-list judge the tag, so
// whoever holds a webhook token must not deploy any other digest of the
// repository under an allowed tag. A mismatch (or no such tag) after a few
// looks is recorded as ignored and deploys nothing. When the registry
// cannot be asked (down, or private and the workload names no login),
// the digest is dropped and the tag is deployed as the registry serves it
// to the pull, which the sender cannot choose either.
func (in *Intake) verifyDigest(ctx context.Context, log zerolog.Logger, w *labels.Workload, req deployer.Request, tag string) (deployer.Request, bool) {
	ref := w.Image + ":" + tag
	var got string
	var err error
	wait := verifyFirstWait
	for try := 1; ; try++ {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		got, err = in.Registry(w).Digest(rctx, w.Image, tag)
		cancel()
		if err == nil && got == req.Digest {
			return req, true
		}
		if (err != nil && !errors.Is(err, registryapi.ErrNotFound)) || try == verifyTries {
			break
		}
		select {
		case <-ctx.Done():
			return req, false
		case <-time.After(wait):
		}
		wait *= 2
	}
	switch {
	case errors.Is(err, registryapi.ErrNotFound):
		in.RecordOutcome(ctx, w, req, ref, req.Digest, OutcomeIgnored+": digest "+req.Digest+" of the delivery is not tag "+tag+" in the registry, which has no such tag")
		return req, false
	case err != nil:
		log.Warn().Err(err).Str("webhook_digest", req.Digest).
			Msg("the webhook's digest cannot be checked against the registry: deploying the tag as the registry serves it")
		req.Digest = ""
		return req, true
	}
	in.RecordOutcome(ctx, w, req, ref, req.Digest, OutcomeIgnored+": digest "+req.Digest+" of the delivery is not what tag "+tag+" points at in the registry ("+got+")")
	return req, false
}
