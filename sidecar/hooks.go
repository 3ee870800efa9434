package sidecar

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/webhook"
)

// distributionHook takes CNCF distribution notifications: it checks the
// bearer token, parses the events, queues a deploy for every workload whose
// image was pushed with a tag, and answers 202 without waiting for them.
func (s *Sidecar) distributionHook(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.WebhookToken == "" {
		return errorf(http.StatusForbidden, "webhooks disabled: set --webhook-token")
	}
	if !webhook.CheckBearer(r.Header.Get("Authorization"), s.cfg.WebhookToken) {
		return errorf(http.StatusUnauthorized, "missing or wrong bearer token")
	}
	if err := s.storeUp(w, r); err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	pushes, err := webhook.ParseDistribution(r.Header.Get("Content-Type"), body)
	if errors.Is(err, webhook.ErrContentType) {
		return errorf(http.StatusUnsupportedMediaType, err.Error())
	}
	if err != nil {
		return errorf(http.StatusBadRequest, err.Error())
	}
	queued := s.dispatch("distribution", pushes)
	writeJSON(w, http.StatusAccepted, map[string]any{"pushes": len(pushes), "queued": queued})
	return nil
}

// readBody reads at most maxBody bytes; a larger body is a 413.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
	}
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "read body: "+err.Error())
	}
	return body, nil
}

// dispatch queues a deploy for each workload a push concerns and returns
// the "workload:tag" pairs it queued.
func (s *Sidecar) dispatch(source string, pushes []webhook.Push) []string {
	workloads := s.controllers.Workloads()
	names := slices.Sorted(maps.Keys(workloads))
	queued := []string{}
	for _, p := range pushes {
		log := s.log.With().Str(logkey.Source, source).Str(logkey.Delivery, p.EventID).
			Str(logkey.Image, p.Image()).Str(logkey.Tag, p.Tag).Logger()
		matched := false
		for _, name := range names {
			if !sameRepository(workloads[name].Image, p.Image()) {
				continue
			}
			matched = true
			req := deployer.Request{Workload: name, Tag: p.Tag, Digest: p.Digest, Source: source, Delivery: p.EventID}
			if err := s.queue.Submit(req); err != nil {
				log.Error().Err(err).Str(logkey.Workload, name).Msg("push not queued")
				continue
			}
			log.Info().Str(logkey.Workload, name).Msg("push queued")
			queued = append(queued, name+":"+p.Tag)
		}
		if !matched {
			log.Info().Msg("push ignored: no workload uses this image")
		}
	}
	return queued
}

// sameRepository compares image repositories the way Docker resolves
// them: case-insensitively, with docker.io and library/ implied.
func sameRepository(a, b string) bool {
	return canonicalRepository(a) == canonicalRepository(b)
}

func canonicalRepository(s string) string {
	s = strings.ToLower(s)
	for _, p := range []string{"index.docker.io/", "docker.io/", "registry-1.docker.io/"} {
		s = strings.TrimPrefix(s, p)
	}
	return strings.TrimPrefix(s, "library/")
}
