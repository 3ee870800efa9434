package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// Outcomes of a delivery held for approval (approval manual), as history
// records spell them, each followed by ": <detail>".
const (
	OutcomePending  = "pending"  // held, waiting for approve or reject
	OutcomeReplaced = "replaced" // a newer delivery took its place while it waited
	OutcomeApproved = "approved" // approved: stored in the inbox, deploys next
	OutcomeExpired  = "expired"  // not approved within approvalTimeout
	// Rejected deliveries are recorded as OutcomeRejected ("rejected: by
	// the operator").
)

// ErrNotPending is returned (wrapped) by Approve and Reject when no
// delivery of the workload waits for approval (none came, or it was
// approved, rejected, replaced or expired meanwhile).
var ErrNotPending = errors.New("no delivery is pending approval")

// Hold keeps a delivery of a workload with approval manual pending
// instead of deploying it, after Admit and Prepare (so the pending record
// names the digest that would deploy). It replaces the one pending before
// (recorded as replaced), unless that one is older under a semver policy
// (then this one is ignored). held is false when the request is to deploy
// now: another kind, a workload without approval, or an approved delivery.
// An error means nothing was stored: the caller must leave the request's
// inbox entries unacknowledged, for the next start.
func (in *Intake) Hold(ctx context.Context, log zerolog.Logger, w *labels.Workload, req deployer.Request) (held bool, err error) {
	if (req.Kind != deployer.KindDeliver && req.Kind != "") || !w.ManualApproval() || req.Source == SourceApproval {
		return false, nil
	}
	now := time.Now().UTC()
	tag := w.ResolveTag(req.Tag)
	p := redisstore.Pending{Workload: w.Name, Image: w.Image, Tag: tag, Digest: req.Digest, Source: req.Source,
		Delivery: req.Delivery, Since: now, ID: fmt.Sprintf("%d", now.UnixNano())}
	if n := len(req.Entries); n > 0 {
		p.ID = req.Entries[n-1]
	}
	if d := w.ApprovalExpiry(); d > 0 {
		p.Expires = now.Add(d)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if cur, ok, err := in.store.PendingApproval(ctx, w.Name); err != nil {
		return true, err
	} else if ok && (cur.Tag != tag || cur.Digest != req.Digest) {
		if allowed, reason := w.AllowsPush(cur.Tag, tag); !allowed && isVersioned(w) {
			in.record(ctx, in.event(w.Name, p, OutcomeIgnored+": "+reason+" (pending approval: "+cur.Tag+")"), "request ignored")
			return true, nil
		}
	}
	old, stored, err := in.store.HoldPending(ctx, p)
	if err != nil {
		return true, err
	}
	if !stored {
		log.Debug().Msg("already pending approval")
		return true, nil
	}
	detail := "waiting for approval"
	if !p.Expires.IsZero() {
		detail += " until " + p.Expires.Format(time.RFC3339)
	}
	in.record(ctx, in.event(w.Name, p, OutcomePending+": "+detail), "request pending approval")
	if old != nil {
		in.record(ctx, in.event(w.Name, *old, fmt.Sprintf("%s: by %s (%s), pushed later", OutcomeReplaced, p.Tag, short(p.Digest))), "pending request replaced")
	}
	return true, nil
}

// isVersioned reports whether w's policy compares versions.
func isVersioned(w *labels.Workload) bool {
	p, err := w.TagPolicy()
	return err == nil && p.Versioned()
}

// Approve stores the workload's pending delivery in the durable inbox as
// a delivery of source approval, which deploys exactly its digest, and
// records the approval; both in one atomic step. An expired one is
// recorded as expired instead, and ErrNotPending returned.
func (in *Intake) Approve(ctx context.Context, workload string) (redisstore.Pending, error) {
	p, err := in.pending(ctx, workload)
	if err != nil {
		return p, err
	}
	now := time.Now().UTC()
	e := redisstore.InboxEntry{Kind: deployer.KindDeliver, Workload: workload, Tag: p.Tag, Digest: p.Digest, Image: p.Image,
		Source: SourceApproval, Delivery: p.Delivery, Received: now}
	ev := in.event(workload, p, fmt.Sprintf("%s: pending since %s", OutcomeApproved, p.Since.Format(time.RFC3339)))
	return p, in.settle(ctx, p, ev, &e, "pending request approved")
}

// Reject drops the workload's pending delivery and records it as
// rejected.
func (in *Intake) Reject(ctx context.Context, workload string) (redisstore.Pending, error) {
	p, err := in.pending(ctx, workload)
	if err != nil {
		return p, err
	}
	return p, in.settle(ctx, p, in.event(workload, p, OutcomeRejected+": by the operator"), nil, "pending request rejected")
}

// ExpireApprovals drops and records every pending delivery whose
// approvalTimeout passed; the sidecar calls it every few seconds.
func (in *Intake) ExpireApprovals(ctx context.Context, now time.Time) {
	all, err := in.store.PendingApprovals(ctx)
	if err != nil {
		in.log.Warn().Err(err).Msg("pending approvals not read: expiry checked again later")
		return
	}
	for _, p := range all {
		if p.Expired(now) {
			_ = in.expire(ctx, p)
		}
	}
}

// PendingApprovals returns every delivery waiting for approval, by
// workload, for the status.
func (in *Intake) PendingApprovals(ctx context.Context) (map[string]redisstore.Pending, error) {
	return in.store.PendingApprovals(ctx)
}

// pending reads the workload's pending delivery that may still be
// approved or rejected: one that expired is settled as such first.
func (in *Intake) pending(ctx context.Context, workload string) (redisstore.Pending, error) {
	p, ok, err := in.store.PendingApproval(ctx, workload)
	switch {
	case err != nil:
		return p, err
	case !ok:
		return p, fmt.Errorf("workload %s: %w", workload, ErrNotPending)
	case p.Expired(time.Now()):
		if err := in.expire(ctx, p); err != nil {
			return p, err
		}
		return p, fmt.Errorf("workload %s: %w (%s expired at %s)", workload, ErrNotPending, p.Tag, p.Expires.Format(time.RFC3339))
	}
	return p, nil
}

func (in *Intake) expire(ctx context.Context, p redisstore.Pending) error {
	ev := in.event(p.Workload, p, fmt.Sprintf("%s: not approved within %s", OutcomeExpired, p.Expires.Sub(p.Since).Round(time.Second)))
	err := in.settle(ctx, p, ev, nil, "pending request expired")
	if errors.Is(err, ErrNotPending) {
		return nil // settled by someone else meanwhile
	}
	return err
}

// settle ends p with ev (and e into the inbox, for an approval), logging
// msg once it did.
func (in *Intake) settle(ctx context.Context, p redisstore.Pending, ev deployer.Event, e *redisstore.InboxEntry, msg string) error {
	ok, err := in.store.SettlePending(ctx, p, ev, e)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("workload %s: %w (it changed meanwhile)", p.Workload, ErrNotPending)
	}
	logEvent(in.log, ev, msg)
	return nil
}

// event is the history record of pending delivery p with outcome.
func (in *Intake) event(workload string, p redisstore.Pending, outcome string) deployer.Event {
	return deployer.Event{Time: time.Now().UTC(), Workload: workload, Image: p.Image + ":" + p.Tag, Tag: p.Tag, Digest: p.Digest,
		Source: p.Source, Delivery: p.Delivery, Outcome: outcome}
}

// record appends ev to its workload's history and logs it.
func (in *Intake) record(ctx context.Context, ev deployer.Event, msg string) {
	logEvent(in.log, ev, msg)
	if err := in.store.AppendEvent(ctx, ev.Workload, ev); err != nil {
		in.log.Error().Err(err).Str(logkey.Workload, ev.Workload).Msg("record event")
	}
}

// short abbreviates a digest for a history line.
func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	if digest == "" {
		return "digest unknown"
	}
	return digest
}
