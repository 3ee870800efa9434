package poller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/registryapi"
)

// Status is what the poller reports about one workload (GET
// /v1/workloads shows it).
type Status struct {
	Every time.Duration `json:"every"`
	// Last is when the registry was last asked, Next when it will be.
	Last time.Time `json:"last,omitzero"`
	Next time.Time `json:"next,omitzero"`
	// Tag and Digest are what the last poll found ("" tag: no tag the
	// policy allows is newer than the serving one).
	Tag    string `json:"tag,omitempty"`
	Digest string `json:"digest,omitempty"`
	// Note says why a successful poll found nothing to deploy: no tag
	// newer than the serving one, or the tag not in the registry (yet).
	Note string `json:"note,omitempty"`
	// Submitted is the digest last submitted for deploy, and when.
	Submitted   string    `json:"submitted,omitempty"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	// Error is why the last poll failed ("" when it did not); Failures
	// counts the failures in a row, each doubling the wait up to 8 times
	// the interval.
	Error    string `json:"error,omitempty"`
	Failures int    `json:"failures,omitempty"`
}

// maxBackoff bounds the doubling of the wait after failures: at most
// 2^maxBackoff intervals.
const maxBackoff = 3

// poll is one workload's loop: the first poll after a random part of the
// interval (so workloads do not ask together), then one every interval
// less up to a tenth of it, so a push is found within one interval; after
// a failure the wait doubles, up to 8 intervals.
func (p *Poller) poll(ctx context.Context, w *labels.Workload, every time.Duration) {
	log := p.cfg.Log.With().Str(logkey.Workload, w.Name).Logger()
	log.Info().Dur("every", every).Msg("polling the registry")
	wait := time.Duration(jitter() * float64(every))
	submitted := ""
	failures := 0
	for {
		next := time.Now().Add(wait)
		p.update(w.Name, func(st *Status) { st.Next = next })
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		found, err := p.once(ctx, w, submitted)
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		if err != nil {
			failures++
			log.Warn().Err(err).Int("failures", failures).Msg("poll failed: nothing deployed, retried later")
		} else {
			failures = 0
			if found.submit {
				submitted = found.digest
			}
		}
		p.update(w.Name, func(st *Status) {
			st.Last, st.Failures = now, failures
			if err != nil {
				st.Error = err.Error()
				return
			}
			st.Error, st.Tag, st.Digest, st.Note = "", found.tag, found.digest, found.note
			if found.submit {
				st.Submitted, st.SubmittedAt = found.digest, now
			}
		})
		wait = every - time.Duration(jitter()*float64(every)/10)
		if failures > 0 {
			wait = every << min(failures, maxBackoff)
		}
	}
}

// found is what one poll found, and whether it was submitted.
type found struct {
	tag, digest, note string
	submit            bool
}

// once polls w once: the tag to deploy (the default tag, or for a semver
// policy the newest allowed tag of the registry's list that may replace
// the serving one), its digest by manifest HEAD, and a delivery submitted
// when that digest is neither serving nor the one submitted last.
func (p *Poller) once(ctx context.Context, w *labels.Workload, submitted string) (found, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	pol, err := w.TagPolicy()
	if err != nil {
		return found{}, err
	}
	tag := w.ResolveTag("")
	if p.cfg.Allow != nil {
		if err := p.cfg.Allow(w.Image + ":" + tag); err != nil {
			return found{}, fmt.Errorf("not polled: %w", err)
		}
	}
	servingTag, servingDigest, err := p.cfg.Serving(ctx, w.Name)
	if err != nil {
		return found{}, fmt.Errorf("read what serves: %w", err)
	}
	reg := p.cfg.Registry(w)
	if pol.Versioned() {
		tags, err := reg.Tags(ctx, w.Image)
		if err != nil {
			return found{}, err
		}
		newest, ok := w.NewestTag(servingTag, tags)
		if !ok {
			return found{note: fmt.Sprintf("none of the registry's %d tags is allowed to replace %q", len(tags), servingTag)}, nil
		}
		tag = newest
	}
	digest, err := reg.Digest(ctx, w.Image, tag)
	if errors.Is(err, registryapi.ErrNotFound) {
		// The registry answers; the tag is not pushed yet: no failure, no
		// backoff, so its first push is found within one interval.
		return found{tag: tag, note: "tag " + tag + " is not in the registry"}, nil
	}
	if err != nil {
		return found{}, err
	}
	f := found{tag: tag, digest: digest}
	if digest == "" {
		return f, errors.New("the registry answered no digest")
	}
	if digest == servingDigest || digest == submitted {
		return f, nil
	}
	dup, err := p.cfg.Submit(ctx, w, tag, digest)
	if err != nil {
		return f, err
	}
	p.cfg.Log.Info().Str(logkey.Workload, w.Name).Str(logkey.Tag, tag).Str(logkey.Digest, digest).
		Str("serving", servingDigest).Bool("duplicate", dup).Msg("poll found a new digest: delivery stored")
	f.submit = true
	return f, nil
}
