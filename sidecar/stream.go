package sidecar

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/deploystream"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/overview"
	"github.com/tinyforge/tinyforge/ui"
)

// wireStream feeds the live deploy stream from the engine's step and
// outcome hooks, after whatever else listens there (metrics,
// notifications).
func (s *Sidecar) wireStream() {
	s.stream = deploystream.NewHub(0)
	if prev := s.engine.OnStep; prev != nil {
		s.engine.OnStep = func(j deployer.Journal) { prev(j); s.stream.Step(j) }
	} else {
		s.engine.OnStep = s.stream.Step
	}
	if prev := s.engine.OnFinished; prev != nil {
		s.engine.OnFinished = func(w string, ev deployer.Event) { prev(w, ev); s.stream.Finished(w, ev) }
	} else {
		s.engine.OnFinished = s.stream.Finished
	}
}

// deployStream is GET /v1/deploys/stream: every deploy step as it is
// journaled and every outcome, as Server-Sent Events (?workload= for one
// workload's).
func (s *Sidecar) deployStream(w http.ResponseWriter, r *http.Request) error {
	deploystream.Handler{Hub: s.stream}.ServeHTTP(w, r)
	return nil
}

// statusPage is the status page under /ui/, reading and acting through
// the same functions as the management API.
func (s *Sidecar) statusPage() http.Handler {
	return ui.New(ui.Config{
		Token:  s.cfg.APIToken,
		Source: pageSource{s},
		Stream: deploystream.Handler{Hub: s.stream},
		Log:    s.log.With().Str(logkey.Component, "ui").Logger(),
	}).Handler()
}

// pageSource is the sidecar as the status page sees it.
type pageSource struct{ s *Sidecar }

var _ ui.Source = pageSource{}

func (p pageSource) Status(ctx context.Context) (overview.Status, error) { return p.s.overview(ctx) }

func (p pageSource) Deploy(ctx context.Context, workload, tag string) (string, error) {
	accepted, duplicate, err := p.s.intake.Deploy(ctx, workload, tag)
	if err != nil {
		return "", err
	}
	if len(accepted) == 0 {
		return "deploy of " + strings.Join(duplicate, ", ") + " was already accepted", nil
	}
	return "deploy of " + strings.Join(accepted, ", ") + " accepted: its steps show below as they happen", nil
}

func (p pageSource) Rollback(ctx context.Context, workload, to string) (string, error) {
	reply, err := p.s.rollback(ctx, workload, to)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("rollback of %s to %s (%s) queued", workload, reply["tag"], reply["digest"]), nil
}

func (p pageSource) Teardown(ctx context.Context, workload string) (string, error) {
	if err := p.s.teardown(ctx, workload); err != nil {
		return "", err
	}
	return "teardown of " + workload + " queued", nil
}

func (p pageSource) Approve(ctx context.Context, workload string) (string, error) {
	pend, err := p.s.approve(ctx, workload)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%s (%s) approved: its deploy shows below as it happens", workload, pend.Tag, overview.ShortDigest(pend.Digest)), nil
}

func (p pageSource) Reject(ctx context.Context, workload string) (string, error) {
	pend, err := p.s.reject(ctx, workload)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%s (%s) rejected", workload, pend.Tag, overview.ShortDigest(pend.Digest)), nil
}
