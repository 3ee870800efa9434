package intake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
	"github.com/tinyforge/tinyforge/webhook"
)

// Outcomes of a delivery, as history records and log lines spell them;
// ignored, duplicate and rejected records append ": <reason>".
const (
	OutcomeAccepted  = "accepted"
	OutcomeDuplicate = "duplicate"
	OutcomeIgnored   = "ignored"
	OutcomeRejected  = "rejected"
	// OutcomeSuperseded: a request pending when a rollback or teardown was
	// asked for after it; it never runs.
	OutcomeSuperseded = "superseded"
)

// intakeReply is the body of a 202: what became of each push.
type intakeReply struct {
	Accepted  []string `json:"accepted"`            // workload:tag stored for deploy
	Duplicate []string `json:"duplicate,omitempty"` // workload:tag already accepted
	Ignored   []string `json:"ignored,omitempty"`   // reasons
}

// accept is where every webhook and the deploy API end: it matches each
// push to the workloads that use its image and allow its tag (tags filter
// and tag policy against the serving tag, see allowsPush), stores what
// is to deploy in the durable inbox (at most once per delivery id) and
// records every outcome, all in one Redis round trip, then answers 202.
// When Redis cannot store it the answer is 503, so the sender retries:
// nothing is acknowledged that is not stored. A non-nil only skips the
// matching, the tags filter and the tag policy: the deploy API naming a
// workload.
func (in *Intake) accept(w http.ResponseWriter, r *http.Request, source, delivery string, pushes []webhook.Push, only *labels.Workload) error {
	if !in.ready.Load() {
		w.Header().Set("Retry-After", "5")
		return httpapi.Errorf(http.StatusServiceUnavailable, "starting: workloads not listed yet, retry")
	}
	now := time.Now().UTC()
	reply := intakeReply{Accepted: []string{}}
	var intakes []redisstore.Intake
	var global []deployer.Event
	log := in.log.With().Str(logkey.Source, source).Str(logkey.Delivery, delivery).Logger()
	ignore := func(p webhook.Push, workload, reason string) {
		ev := deliveryEvent(now, source, p.EventID, delivery, p.Image()+":"+p.Tag, p.Digest, OutcomeIgnored+": "+reason)
		ev.Workload = workload
		global = append(global, ev)
		reply.Ignored = append(reply.Ignored, reason)
		in.cfg.Observer.WebhookDelivery(source, OutcomeIgnored)
		log.Info().Str(logkey.Image, p.Image()).Str(logkey.Tag, p.Tag).Str(logkey.Workload, workload).
			Str(logkey.Outcome, OutcomeIgnored).Str("reason", reason).Msg("push ignored")
	}

	workloads := in.declared.Workloads()
	reasons, refused := in.refusals()
	for _, p := range pushes {
		id := p.EventID
		if id == "" {
			id = delivery
		}
		batch := redisstore.Intake{DedupKey: dedupKey(source, id, p.Tag)}
		if p.SignedKey != "" && p.SignedKey != id { // a replay under a new delivery id is still the same push
			batch.AlsoKeys = []string{dedupKey(source, p.SignedKey, p.Tag)}
			if batch.DedupKey == "" {
				batch.DedupKey, batch.AlsoKeys = batch.AlsoKeys[0], nil
			}
		}
		targets := []*labels.Workload{only}
		if only == nil {
			var skipped []skip
			targets, skipped = route(p, workloads, in.repository, in.allowsPush)
			skipped = in.withRefusals(p, skipped, reasons, refused)
			for _, sk := range skipped {
				ignore(p, sk.workload, sk.reason)
			}
			if len(targets) == 0 {
				continue
			}
		}
		for _, t := range targets {
			e := redisstore.InboxEntry{
				Workload: t.Name, Tag: p.Tag, Digest: p.Digest, Image: p.Image(),
				Source: source, Delivery: id, Pushed: p.Time, Received: now,
			}
			ref := t.Image + ":" + p.Tag
			if p.Tag == "" { // the newest the policy allows, chosen when it runs
				ref = t.Image
			}
			acc := deliveryEvent(now, source, id, delivery, ref, p.Digest, OutcomeAccepted)
			dup := deliveryEvent(now, source, id, delivery, ref, p.Digest, OutcomeDuplicate+": delivery "+id+" was already accepted")
			batch.Entries = append(batch.Entries, e)
			batch.Accepted = append(batch.Accepted, acc)
			batch.Duplicate = append(batch.Duplicate, dup)
		}
		intakes = append(intakes, batch)
	}
	if len(pushes) == 0 {
		global = append(global, deliveryEvent(now, source, "", delivery, "", "", OutcomeIgnored+": no tagged manifest push in the delivery"))
		reply.Ignored = append(reply.Ignored, "no tagged manifest push in the delivery")
		in.cfg.Observer.WebhookDelivery(source, OutcomeIgnored)
		log.Info().Str(logkey.Outcome, OutcomeIgnored).Str("reason", "no tagged manifest push").Msg("delivery ignored")
	}

	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	fresh, err := in.store.Accept(ctx, in.cfg.Hooks.DedupTTL, intakes, global)
	if err != nil {
		log.Error().Err(err).Msg("delivery not stored: answering 503 so the sender retries")
		w.Header().Set("Retry-After", "5")
		return httpapi.Errorf(http.StatusServiceUnavailable, "cannot store the delivery now (redis unavailable), retry")
	}
	for i, batch := range intakes {
		for _, e := range batch.Entries {
			outcome, line := OutcomeAccepted, &reply.Accepted
			if !fresh[i] {
				outcome, line = OutcomeDuplicate, &reply.Duplicate
			}
			*line = append(*line, e.Workload+":"+e.Tag)
			in.cfg.Observer.WebhookDelivery(source, outcome)
			log.Info().Str(logkey.Workload, e.Workload).Str(logkey.Image, e.Image).Str(logkey.Tag, e.Tag).
				Str(logkey.Digest, e.Digest).Str("event", e.Delivery).Str(logkey.Outcome, outcome).Msg("push " + outcome)
		}
	}
	httpapi.WriteJSON(w, http.StatusAccepted, reply)
	return nil
}

// dedupKey identifies one push of tag by source under id ("" when there
// is no id).
func dedupKey(source, id, tag string) string {
	if id == "" {
		return ""
	}
	return source + ":" + id + ":" + tag
}

// skip is why a push does not deploy a workload ("" = any workload).
type skip struct{ workload, reason string }

// route decides which workloads a push deploys: those whose image is the
// pushed repository (normalised as Docker resolves names) and whose tags
// filter and tag policy allow the tag (allowed, with the reason when
// not), in name order. It also says why the push deploys nothing
// elsewhere: no workload uses the image, or a filter or policy refuses
// the tag. repoOf normalises a workload's image ("" when it does not
// parse).
func route(p webhook.Push, workloads map[string]*labels.Workload, repoOf func(string) string,
	allowed func(*labels.Workload, string) (bool, string)) ([]*labels.Workload, []skip) {
	repo, err := imageref.Repository(p.Image())
	if err != nil {
		return nil, []skip{{"", "invalid image name: " + err.Error()}}
	}
	var targets []*labels.Workload
	var skipped []skip
	used := false
	for _, name := range slices.Sorted(maps.Keys(workloads)) {
		w := workloads[name]
		if repoOf(w.Image) != repo {
			continue
		}
		used = true
		if ok, reason := allowed(w, p.Tag); !ok {
			skipped = append(skipped, skip{name, fmt.Sprintf("workload %s: %s", name, reason)})
			continue
		}
		targets = append(targets, w)
	}
	if !used {
		skipped = append(skipped, skip{"", "no workload uses image " + repo})
	}
	return targets, skipped
}

// parsed finishes a handler once the body is authentic: a parse error is
// a 415 or 400 (recorded as rejected), an ErrIgnored delivery is recorded
// and answered 202, and pushes go on to accept.
func (in *Intake) parsed(w http.ResponseWriter, r *http.Request, source, delivery string, pushes []webhook.Push, err error) error {
	switch {
	case errors.Is(err, webhook.ErrIgnored):
		ev := deliveryEvent(time.Now().UTC(), source, "", delivery, "", "", err.Error())
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, serr := in.store.Accept(ctx, in.cfg.Hooks.DedupTTL, nil, []deployer.Event{ev}); serr != nil {
			in.log.Error().Err(serr).Str(logkey.Source, source).Msg("ignored delivery not recorded: answering 503")
			w.Header().Set("Retry-After", "5")
			return httpapi.Errorf(http.StatusServiceUnavailable, "cannot record the delivery now (redis unavailable), retry")
		}
		in.log.Info().Str(logkey.Source, source).Str(logkey.Delivery, delivery).Str(logkey.Outcome, OutcomeIgnored).
			Str("reason", err.Error()).Msg("delivery ignored")
		in.cfg.Observer.WebhookDelivery(source, OutcomeIgnored)
		httpapi.WriteJSON(w, http.StatusAccepted, intakeReply{Accepted: []string{}, Ignored: []string{err.Error()}})
		return nil
	case errors.Is(err, webhook.ErrContentType):
		return in.reject(r, source, http.StatusUnsupportedMediaType, err.Error())
	case err != nil:
		return in.reject(r, source, http.StatusBadRequest, err.Error())
	}
	return in.accept(w, r, source, delivery, pushes, nil)
}

// reject records a refused delivery in the global stream (best effort: a
// refusal must not wait on Redis) and returns the error handle() answers
// and logs.
func (in *Intake) reject(r *http.Request, source string, status int, reason string) error {
	in.refused(source, status)
	ev := deliveryEvent(time.Now().UTC(), source, "", "", "", "", fmt.Sprintf("%s: %d %s", OutcomeRejected, status, reason))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Second)
	defer cancel()
	if err := in.store.AppendGlobalEvent(ctx, ev); err != nil {
		in.log.Warn().Err(err).Str(logkey.Source, source).Msg("rejected delivery not recorded")
	}
	return httpapi.Errorf(status, reason)
}

// deliveryEvent is the history record of one delivery outcome.
func deliveryEvent(now time.Time, source, id, delivery, image, digest, outcome string) deployer.Event {
	if id == "" {
		id = delivery
	}
	return deployer.Event{Time: now, Outcome: outcome, Image: image, Digest: digest, Source: source, Delivery: id}
}

// logEvent writes ev to the log at info level with the fields every
// delivery line carries.
func logEvent(log zerolog.Logger, ev deployer.Event, msg string) {
	log.Info().Str(logkey.Workload, ev.Workload).Str(logkey.Source, ev.Source).Str(logkey.Delivery, ev.Delivery).
		Str(logkey.Image, ev.Image).Str(logkey.Digest, ev.Digest).Str(logkey.Outcome, ev.Outcome).Msg(msg)
}
