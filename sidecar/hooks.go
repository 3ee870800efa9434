package sidecar

import (
	"errors"
	"io"
	"net/http"

	"github.com/tinyforge/tinyforge/webhook"
)

// distributionHook takes CNCF distribution notifications (registry 2.x
// and 3.x, GitLab's and Harbor's inner registry): bearer token first,
// then the events; tagged manifest pushes go to the inbox.
func (s *Sidecar) distributionHook(w http.ResponseWriter, r *http.Request) error {
	token := s.cfg.hookSecret(sourceDistribution)
	if token == "" {
		return errorf(http.StatusForbidden, "distribution webhooks disabled: set --distribution-token or --webhook-token")
	}
	if !webhook.CheckBearer(r.Header.Get("Authorization"), token) {
		return s.reject(r, sourceDistribution, http.StatusUnauthorized, "missing or wrong bearer token")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	pushes, err := webhook.ParseDistribution(r.Header.Get("Content-Type"), body)
	return s.parsed(w, r, sourceDistribution, "", pushes, err)
}

// readBody reads at most maxBody bytes; a larger body is a 413, refused
// from Content-Length before reading when the sender declares it.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
	}
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
