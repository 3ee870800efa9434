// Package httpapi is the HTTP plumbing the webhook intake and the
// management API share: handlers that return errors and the one adapter
// turning them into status, JSON body and log line, the bearer-token guard,
// bounded body reads, the failed-authentication rate limiter and the
// masking of tokens carried in URLs. It decides no tinyforge policy, and it
// imports no tinyforge package: it sits at the bottom of the layering.
package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/rs/zerolog"
)

// MaxBody bounds every request body the sidecar reads.
const MaxBody = 1 << 20

// Error is an error with the HTTP status it maps to. Handlers return
// errors; Handle turns them into status, JSON body and one log line.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error with status and message msg.
func Errorf(status int, msg string) error { return &Error{Status: status, Msg: msg} }

// HandlerFunc is a handler that returns its failure instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts a HandlerFunc: an *Error keeps its status, any other
// error is a 500 whose detail goes to the log only.
func Handle(log zerolog.Logger, h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var ae *Error
		if !errors.As(err, &ae) {
			log.Error().Err(err).Str("path", r.URL.Path).Msg("request failed")
			ae = &Error{Status: http.StatusInternalServerError, Msg: "internal error"}
		} else {
			log.Warn().Int("status", ae.Status).Str("path", r.URL.Path).Str("error", ae.Msg).Msg("request refused")
		}
		WriteJSON(w, ae.Status, map[string]string{"error": ae.Msg})
	}
}

// WriteJSON answers status with v as the JSON body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// TokenCheck reports whether an Authorization header carries token; the
// caller supplies a constant-time one (webhook.CheckBearer).
type TokenCheck func(header, token string) bool

// RequireToken guards management endpoints: with no token configured they
// are disabled, not open; otherwise the request must carry token as
// checked by valid.
func RequireToken(token string, valid TokenCheck, next HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if token == "" {
			return Errorf(http.StatusForbidden, "management API disabled: set --api-token")
		}
		if !valid(r.Header.Get("Authorization"), token) {
			return Errorf(http.StatusUnauthorized, "missing or wrong bearer token")
		}
		return next(w, r)
	}
}

// ReadBody reads at most MaxBody bytes; a larger body is a 413, refused
// from Content-Length before reading when the sender declares it.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
	}
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "read body: "+err.Error())
	}
	return body, nil
}
