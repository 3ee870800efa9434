package labels

import (
	"fmt"
	"time"

	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/tagpolicy"
)

// MinPoll bounds poll below, so polling many workloads stays far from a
// registry's rate limits.
const MinPoll = 30 * time.Second

// TagPolicy is the workload's parsed policy label. It fails only for a
// workload that does not validate.
func (w *Workload) TagPolicy() (tagpolicy.Policy, error) {
	return tagpolicy.Parse(w.Policy, w.Prerelease)
}

// AllowsPush decides whether a delivered tag may deploy while the tag
// serving serves ("" when nothing does): the tags pattern first, then the
// policy. When it may not, reason says why, for the deploy history.
func (w *Workload) AllowsPush(serving, tag string) (ok bool, reason string) {
	if !w.AllowsTag(tag) {
		return false, fmt.Sprintf("tag %s is not allowed by tags %q", tag, w.Tags)
	}
	p, err := w.TagPolicy()
	if err != nil {
		return false, "policy: " + err.Error()
	}
	return p.Allows(serving, tag)
}

// NewestTag picks, from a registry's tag list, the newest tag AllowsPush
// lets replace serving; ok is false when there is none, and always under
// policy all, whose poller watches one tag (ResolveTag("")) instead.
func (w *Workload) NewestTag(serving string, tags []string) (tag string, ok bool) {
	p, err := w.TagPolicy()
	if err != nil {
		return "", false
	}
	allowed := make([]string, 0, len(tags))
	for _, t := range tags {
		if w.AllowsTag(t) {
			allowed = append(allowed, t)
		}
	}
	return p.Newest(serving, allowed)
}

// ManualApproval reports whether accepted deliveries wait for approval.
func (w *Workload) ManualApproval() bool { return w.Approval == ApprovalManual }

// ApprovalExpiry is how long a pending delivery waits for approval; 0
// waits until it is approved, rejected or replaced.
func (w *Workload) ApprovalExpiry() time.Duration { return time.Duration(w.ApprovalTimeout) }

// PollEvery is how often the registry is polled for the workload; 0 is
// never.
func (w *Workload) PollEvery() time.Duration { return time.Duration(w.Poll) }

// deliveryProblems checks the labels that decide which deliveries deploy
// and when: policy, prerelease, approval, approvalTimeout and poll.
func (w *Workload) deliveryProblems(prefix string, bad func(key, value, format string, args ...any)) {
	policy, err := tagpolicy.Parse(w.Policy, false)
	switch {
	case err != nil:
		bad(prefix+".policy", w.Policy, "%s", err)
	case w.Prerelease && !policy.Versioned():
		bad(prefix+".prerelease", "true", "has no effect with policy %s, which deploys every tag: remove prerelease or set a semver policy", policy)
	case w.DefaultTag != "" && imageref.ValidTag(w.DefaultTag) && w.AllowsTag(w.DefaultTag):
		policy, _ = w.TagPolicy()
		if ok, reason := policy.Allows("", w.DefaultTag); !ok {
			bad(prefix+".defaultTag", w.DefaultTag, "%q is not allowed by policy %s, so it could never deploy: %s", w.DefaultTag, policy, reason)
		}
	}

	switch w.Approval {
	case "", ApprovalAuto, ApprovalManual:
	default:
		bad(prefix+".approval", w.Approval, "%q is not an approval mode: use %s (deploy at once) or %s (wait for approve)", w.Approval, ApprovalAuto, ApprovalManual)
	}
	switch at := w.ApprovalTimeout; {
	case at < 0:
		bad(prefix+".approvalTimeout", at.String(), "%s is negative", at)
	case at > 0 && !w.ManualApproval():
		bad(prefix+".approvalTimeout", at.String(), "has no effect without approval %s: set approval or remove approvalTimeout", ApprovalManual)
	}
	switch p := time.Duration(w.Poll); {
	case p < 0:
		bad(prefix+".poll", p.String(), "%s is negative (unset polls never)", p)
	case p > 0 && p < MinPoll:
		bad(prefix+".poll", p.String(), "%s is more often than the minimum interval of %s: registries rate-limit, and webhooks are the fast path", p, MinPoll)
	}
}
