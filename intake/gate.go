package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/registryapi"
)

// allowsPush is the intake's tag check: the workload's tags filter, then
// its tag policy against the tag serving as last seen (Config.ServingTag).
func (in *Intake) allowsPush(w *labels.Workload, tag string) (bool, string) {
	serving := ""
	if in.cfg.ServingTag != nil {
		serving = in.cfg.ServingTag(w.Name)
	}
	return w.AllowsPush(serving, tag)
}

// Admit checks a delivery once more just before it runs, against serving,
// the tag that serves at that moment (the executor's fresh look): the
// serving tag may have changed since the push was accepted, and a push not
// newer than it under the workload's policy is recorded as ignored, with
// the reason, and never deployed. Explicit deploys of a named workload
// (the deploy API, source api) are the operator's choice and skip the
// policy. A request without a tag under a semver policy and no defaultTag
// (a first deploy through the API) gets the newest tag the registry lists
// that the policy allows. It returns false when nothing is to deploy (the
// outcome is recorded). Other kinds pass untouched.
func (in *Intake) Admit(ctx context.Context, log zerolog.Logger, w *labels.Workload, req deployer.Request, serving string) (deployer.Request, bool) {
	if req.Kind != deployer.KindDeliver && req.Kind != "" {
		return req, true
	}
	if req.Tag == "" && w.DefaultTag == "" {
		if p, err := w.TagPolicy(); err == nil && p.Versioned() {
			return in.newestTag(ctx, log, w, req, serving)
		}
	}
	if req.Source == SourceAPI {
		return req, true
	}
	tag := w.ResolveTag(req.Tag)
	if ok, reason := w.AllowsPush(serving, tag); !ok {
		in.RecordOutcome(ctx, w, req, w.Image+":"+tag, req.Digest, OutcomeIgnored+": "+reason)
		return req, false
	}
	return req, true
}

// newestTag resolves a request without a tag under a semver policy: the
// newest tag of the registry's list that the policy lets replace serving.
func (in *Intake) newestTag(ctx context.Context, log zerolog.Logger, w *labels.Workload, req deployer.Request, serving string) (deployer.Request, bool) {
	if err := in.cfg.Images.Allows(w.Image + ":" + labels.DefaultTag); err != nil {
		in.RecordOutcome(ctx, w, req, w.Image, "", deployer.OutcomeFailed+": "+err.Error())
		return req, false
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	tags, err := in.Registry(w).Tags(rctx, w.Image)
	cancel()
	if err != nil {
		outcome := deployer.OutcomeFailed + ": no tag given and the registry's tags cannot be listed: " + err.Error()
		if errors.Is(err, registryapi.ErrNotFound) {
			outcome = deployer.OutcomeFailed + ": no tag given and the registry has no repository " + w.Image
		}
		in.RecordOutcome(ctx, w, req, w.Image, "", outcome)
		return req, false
	}
	tag, ok := w.NewestTag(serving, tags)
	if !ok {
		p, _ := w.TagPolicy()
		in.RecordOutcome(ctx, w, req, w.Image, "", fmt.Sprintf("%s: no tag given, and none of the registry's %d tags is allowed by tags %q and policy %s to replace %s",
			OutcomeIgnored, len(tags), w.Tags, p, orNothing(serving)))
		return req, false
	}
	log.Info().Str("tag", tag).Msg("no tag given: deploying the newest tag the policy allows")
	req.Tag = tag
	return req, true
}

func orNothing(tag string) string {
	if tag == "" {
		return "nothing (no tag serves)"
	}
	return tag
}
