package intake

import (
	"context"
	"fmt"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// Polled stores what the poller found, tag at digest for w, in the
// durable inbox as a delivery of source poll, exactly as a webhook's push
// is stored (with its accepted record), so it runs through the same
// checks at dequeue: the tag policy against what serves then, approval,
// the deploy. Sidecars sharing a Redis that find the same digest store
// it once (the digest is its delivery id, remembered for the dedup TTL).
// duplicate is true when it was stored already; an error means nothing
// was stored.
func (in *Intake) Polled(ctx context.Context, w *labels.Workload, tag, digest string) (duplicate bool, err error) {
	now := time.Now().UTC()
	id := "poll:" + digest
	e := redisstore.InboxEntry{Workload: w.Name, Tag: tag, Digest: digest, Image: w.Image, Source: SourcePoll, Delivery: id, Received: now}
	ref := w.Image + ":" + tag
	acc := deliveryEvent(now, SourcePoll, id, id, ref, digest, OutcomeAccepted)
	dup := deliveryEvent(now, SourcePoll, id, id, ref, digest, OutcomeDuplicate+": "+digest+" was already found by a poll")
	acc.Tag, dup.Tag, acc.Workload, dup.Workload = tag, tag, w.Name, w.Name
	batch := redisstore.Intake{DedupKey: dedupKey(SourcePoll, w.Name+":"+digest, tag), Entries: []redisstore.InboxEntry{e},
		Accepted: []deployer.Event{acc}, Duplicate: []deployer.Event{dup}}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	fresh, err := in.store.Accept(ctx, in.cfg.Hooks.DedupTTL, []redisstore.Intake{batch}, nil)
	if err != nil {
		return false, fmt.Errorf("store the poll of %s (%s@%s): %w", w.Name, tag, digest, err)
	}
	return !fresh[0], nil
}
