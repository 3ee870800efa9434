// Package notify owns the sidecar's notifications: the targets given by
// --notify NAME=URL (shoutrrr URLs: ntfy, Slack, Discord, e-mail, generic
// webhooks, ...), which targets a workload's events go to, the message of
// each event, summarising bursts, and sending with retries from a goroutine
// of its own so that a deploy never waits for a notification. Target URLs
// are secrets: only a target's name and URL scheme are ever logged. It must
// not import the daemon's packages (sidecar, deployer): they call Notify.
package notify

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// Outcomes reported for each message (see Options.Report); the values of
// tinyforge_notifications_total{outcome}.
const (
	OutcomeSent    = "sent"    // the target accepted it
	OutcomeFailed  = "failed"  // every attempt failed
	OutcomeDropped = "dropped" // the target's queue was full, or the sidecar stopped
)

// Options tunes the sending; zero values take the defaults.
type Options struct {
	QueueSize   int           // events waiting per target; beyond, dropped (default 64)
	Attempts    int           // tries per message (default 4)
	Backoff     time.Duration // wait before the first retry, doubling up to 1m (default 2s)
	Timeout     time.Duration // one attempt (default 15s)
	RepeatAfter time.Duration // an unchanged orphaned/conflict/invalid event is not repeated sooner (default 1h)
	// Report is told the outcome of every message, e.g. metrics'
	// NotificationSent. It must not block.
	Report func(target, outcome string)
	Log    zerolog.Logger
}

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = 64
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.RepeatAfter <= 0 {
		o.RepeatAfter = time.Hour
	}
	if o.Report == nil {
		o.Report = func(string, string) {}
	}
	return o
}

// Notifier queues events and sends them. Notify never blocks; Run sends
// until its context ends or Close is called. A nil *Notifier does nothing.
type Notifier struct {
	opt      Options
	window   time.Duration
	targets  map[string]*worker
	names    []string
	defaults []string
	log      zerolog.Logger

	mu   sync.Mutex
	seen map[seenKey]seen // last state event of each workload and kind

	runMu  sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

type seenKey struct {
	workload string
	kind     Kind
}

type seen struct {
	reason string
	at     time.Time
}

// New builds every target of c (no network call). Its errors name the
// entry or target at fault, never a URL.
func New(c Config, o Options) (*Notifier, error) {
	byName, defaults, err := c.targets()
	if err != nil {
		return nil, err
	}
	o = o.withDefaults()
	n := &Notifier{opt: o, window: c.Window, targets: map[string]*worker{}, defaults: defaults,
		log: o.Log.With().Str(logkey.Component, "notify").Logger(), seen: map[seenKey]seen{}}
	for name, t := range byName {
		n.targets[name] = &worker{target: t, queue: make(chan Event, o.QueueSize)}
		n.names = append(n.names, name)
	}
	for _, name := range n.names {
		t := n.targets[name].target
		n.log.Info().Str(logkey.Target, t.name).Str(logkey.Scheme, t.scheme).Msg("notification target")
	}
	return n, nil
}

// Has reports whether name is a configured target, for checking a
// workload's notify label when it is read.
func (n *Notifier) Has(name string) bool {
	return n != nil && n.targets[name] != nil
}

// Notify queues e for its targets (the default ones when e names none) and
// returns at once. An unchanged orphaned, conflict or invalid event seen
// within RepeatAfter is not news and is dropped without a message.
func (n *Notifier) Notify(e Event) {
	if n == nil || len(n.targets) == 0 {
		return
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Kind.state() && n.repeated(e) {
		return
	}
	names := e.Targets
	if len(names) == 0 {
		names = n.defaults
	}
	for _, name := range names {
		w := n.targets[name]
		if w == nil {
			n.log.Warn().Str(logkey.Workload, e.Workload).Str(logkey.Target, name).Msg("workload names a notification target that is not configured")
			continue
		}
		select {
		case w.queue <- e:
		default:
			n.opt.Report(name, OutcomeDropped)
			n.log.Warn().Str(logkey.Target, name).Str(logkey.Workload, e.Workload).Str(logkey.Outcome, string(e.Kind)).
				Msg("notification queue full: event dropped")
		}
	}
}

// Resolved forgets the orphaned, conflict and invalid events of workload,
// so that if the condition comes back it is reported again at once.
func (n *Notifier) Resolved(workload string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, k := range []Kind{Orphaned, Conflict, Invalid} {
		delete(n.seen, seenKey{workload, k})
	}
}

// repeated reports whether e repeats the last event of its workload and
// kind within RepeatAfter, and remembers it if not.
func (n *Notifier) repeated(e Event) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := seenKey{e.Workload, e.Kind}
	if s, ok := n.seen[k]; ok && s.reason == e.Reason && e.At.Sub(s.at) < n.opt.RepeatAfter {
		return true
	}
	if len(n.seen) >= 4096 { // bound the memory: forget what is old
		for key, s := range n.seen {
			if e.At.Sub(s.at) >= n.opt.RepeatAfter {
				delete(n.seen, key)
			}
		}
	}
	n.seen[k] = seen{reason: e.Reason, at: e.At}
	return false
}

// Run sends queued events, one goroutine per target, until ctx ends or
// Close is called; then each target makes one last attempt at what it
// holds, and Run returns. A Notifier runs once.
func (n *Notifier) Run(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.runMu.Lock()
	if n.done != nil {
		n.runMu.Unlock()
		return errors.New("notify: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	n.cancel, n.done = cancel, make(chan struct{})
	n.runMu.Unlock()
	defer close(n.done)
	defer cancel()

	var wg sync.WaitGroup
	for _, w := range n.targets {
		wg.Go(func() { n.loop(ctx, w) })
	}
	wg.Wait()
	return nil
}

// Close stops Run and waits for it to return. Without Run it does nothing.
func (n *Notifier) Close() {
	if n == nil {
		return
	}
	n.runMu.Lock()
	cancel, done := n.cancel, n.done
	n.runMu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}
