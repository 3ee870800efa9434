package notify

import (
	"context"
	"errors"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// maxBackoff caps the doubling wait between attempts.
const maxBackoff = time.Minute

// worker is one target with its queue. Only its loop goroutine sends, so
// a shoutrrr service (some keep state between sends) is never used by two
// goroutines at once.
type worker struct {
	*target
	queue chan Event
	// inflight is closed when an attempt that timed out finally returns;
	// the next attempt waits for it rather than sending beside it.
	inflight chan struct{}
}

// loop collects a burst (the first event and what follows within the
// window), sends it as one message, and repeats until ctx ends.
func (n *Notifier) loop(ctx context.Context, w *worker) {
	for {
		var batch []Event
		select {
		case e := <-w.queue:
			batch = append(batch, e)
		case <-ctx.Done():
			n.last(w, nil)
			return
		}
		timer := time.NewTimer(n.window)
	collect:
		for {
			select {
			case e := <-w.queue:
				batch = append(batch, e)
			case <-timer.C:
				break collect
			case <-ctx.Done():
				timer.Stop()
				n.last(w, batch)
				return
			}
		}
		n.deliver(ctx, w, batch)
	}
}

// deliver sends batch as one message, retrying with a doubling backoff,
// and reports the outcome.
func (n *Notifier) deliver(ctx context.Context, w *worker, batch []Event) {
	title, body := message(batch)
	log := n.log.With().Str(logkey.Target, w.name).Str(logkey.Scheme, w.scheme).Int(logkey.Events, len(batch)).Logger()
	wait := n.opt.Backoff
	for attempt := 1; ; attempt++ {
		err := w.send(ctx, n.opt.Timeout, title, body)
		if err == nil {
			n.opt.Report(w.name, OutcomeSent)
			log.Debug().Int(logkey.Attempt, attempt).Msg("notification sent")
			return
		}
		if attempt == n.opt.Attempts || ctx.Err() != nil {
			n.opt.Report(w.name, OutcomeFailed)
			log.Error().Int(logkey.Attempt, attempt).Str("error", w.redact(err.Error())).Msg("notification failed: giving up")
			return
		}
		log.Warn().Int(logkey.Attempt, attempt).Str("error", w.redact(err.Error())).Dur("retry_in", wait).Msg("notification failed: retrying")
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			n.opt.Report(w.name, OutcomeFailed)
			log.Error().Int(logkey.Attempt, attempt).Msg("notification failed: stopping")
			return
		}
		wait = min(2*wait, maxBackoff)
	}
}

// last makes one attempt, bounded by the timeout, at batch and whatever
// is still queued, as the sidecar stops.
func (n *Notifier) last(w *worker, batch []Event) {
drain:
	for {
		select {
		case e := <-w.queue:
			batch = append(batch, e)
		default:
			break drain
		}
	}
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.opt.Timeout)
	defer cancel()
	title, body := message(batch)
	if err := w.send(ctx, n.opt.Timeout, title, body); err != nil {
		n.opt.Report(w.name, OutcomeDropped)
		n.log.Warn().Str(logkey.Target, w.name).Str(logkey.Scheme, w.scheme).Int(logkey.Events, len(batch)).
			Str("error", w.redact(err.Error())).Msg("stopping: last notification failed")
		return
	}
	n.opt.Report(w.name, OutcomeSent)
}

var errTimeout = errors.New("no answer in time")

// send makes one attempt. shoutrrr's Send takes no context (its generic
// webhook uses a client without a timeout), so the attempt runs in a
// goroutine of its own, bounded by timeout and ctx; one that times out is
// left to finish, and the next attempt waits for it first.
func (w *worker) send(ctx context.Context, timeout time.Duration, title, body string) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	if w.inflight != nil {
		select {
		case <-w.inflight:
			w.inflight = nil
		case <-timer.C:
			return errors.New("the previous attempt is still waiting for an answer")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = w.svc.Send(body, &types.Params{types.TitleKey: title})
	}()
	select {
	case <-done:
		return err
	case <-timer.C:
		w.inflight = done
		return errTimeout
	case <-ctx.Done():
		w.inflight = done
		return ctx.Err()
	}
}
