package sidecar

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/intake"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/metrics"
	"github.com/tinyforge/tinyforge/notify"
)

// observer turns what the intake and the deployer report into metrics and
// notifications. Both are nil-safe: a nil *Metrics counts nothing, a nil
// or target-less *Notifier sends nothing. Every method returns at once
// (notify queues), so no deploy or delivery waits for it.
type observer struct {
	metrics *metrics.Metrics
	notify  *notify.Notifier
	// workload returns a declared workload's config, for its notify
	// label; nil when it is not declared (the default targets).
	workload func(name string) *labels.Workload
	log      zerolog.Logger
}

var _ intake.Observer = (*observer)(nil)

// WebhookDelivery counts one delivery outcome.
func (o *observer) WebhookDelivery(source, outcome string) {
	o.metrics.WebhookDelivery(source, outcome)
}

// RequestFinished reports a request that ended before the deployer:
// skipped (already serving: no message) or failed at resolve.
func (o *observer) RequestFinished(workload string, ev deployer.Event) {
	if out, ok := requestOutcome(ev); ok {
		o.report(workload, ev, out)
	}
}

// DeployFinished reports a deploy's history record (deployer's
// Config.OnFinished).
func (o *observer) DeployFinished(workload string, ev deployer.Event) {
	if out, ok := deployOutcome(ev); ok {
		o.report(workload, ev, out)
	}
}

// Drained hears the end of a successful deploy's background drain: the
// drain phase of its metrics.
func (o *observer) Drained(workload string, took time.Duration) {
	o.metrics.DeployPhase(workload, metrics.Phase{Name: metrics.PhaseDrain, Took: max(took, 0)})
}

func (o *observer) report(workload string, ev deployer.Event, out outcome) {
	o.metrics.DeployFinished(workload, out.metric, out.phases, out.toServe)
	if out.kind == "" {
		return
	}
	o.send(notify.Event{
		Kind: out.kind, Workload: workload, Tag: ev.Tag, Digest: ev.Digest,
		TimeToServe: out.toServe, Step: out.step, Reason: out.reason, At: ev.Time,
	})
}

// send queues e for the workload's targets (its notify label), none when
// the label says none.
func (o *observer) send(e notify.Event) {
	if w := o.workload(e.Workload); w != nil {
		if w.NotifyMuted() {
			return
		}
		e.Targets = w.NotifyTargets()
	}
	o.notify.Notify(e)
}

// checkTargets warns about target names a workload's notify label lists
// that no --notify configures: its messages to them would be lost.
func (o *observer) checkTargets(ws []*labels.Workload) {
	for _, w := range ws {
		for _, name := range w.NotifyTargets() {
			if !o.notify.Has(name) {
				o.log.Warn().Str(logkey.Workload, w.Name).Str(logkey.Target, name).
					Msg("label notify names a target no --notify configures: its messages are dropped")
			}
		}
	}
}

// observe wires the metrics and the notifier into the sidecar; before
// the deployer and the intake, which report to s.obs.
func (s *Sidecar) observe(m *metrics.Metrics, n *notify.Notifier) {
	s.metrics, s.notifier = m, n
	s.obs = &observer{metrics: m, notify: n, log: s.log, workload: func(name string) *labels.Workload {
		if s.controllers == nil {
			return nil
		}
		return s.controllers.Workload(name)
	}}
}
