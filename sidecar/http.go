package sidecar

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/webhook"
)

// maxBody bounds every request body the sidecar reads.
const maxBody = 1 << 20

// apiError is an error with the HTTP status it maps to. Handlers return
// errors; handle() turns them into status, JSON body and one log line.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return e.Msg }

func errorf(status int, msg string) error { return &apiError{Status: status, Msg: msg} }

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc: an *apiError keeps its status, any other
// error is a 500 whose detail goes to the log only.
func handle(log zerolog.Logger, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			log.Error().Err(err).Str("path", r.URL.Path).Msg("request failed")
			ae = &apiError{Status: http.StatusInternalServerError, Msg: "internal error"}
		} else {
			log.Warn().Int("status", ae.Status).Str("path", r.URL.Path).Str("error", ae.Msg).Msg("request refused")
		}
		writeJSON(w, ae.Status, map[string]string{"error": ae.Msg})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// bearer checks "Authorization: Bearer <token>" in constant time, without
// revealing the token's length (webhook.CheckBearer compares hashes). An
// empty configured token never matches.
func bearer(r *http.Request, token string) bool {
	return webhook.CheckBearer(r.Header.Get("Authorization"), token)
}

// requireToken guards management endpoints: with no token configured they
// are disabled, not open.
func requireToken(token string, next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if token == "" {
			return errorf(http.StatusForbidden, "management API disabled: set --api-token")
		}
		if !bearer(r, token) {
			return errorf(http.StatusUnauthorized, "missing or wrong bearer token")
		}
		return next(w, r)
	}
}

func (s *Sidecar) routes() http.Handler {
	r := mux.NewRouter()
	r.Use(newAuthLimiter(s.log, s.validBearer).middleware)
	h := func(f handlerFunc) http.HandlerFunc { return handle(s.log, f) }
	r.Handle("/healthz", h(s.healthz)).Methods(http.MethodGet)
	r.Handle("/v1/hooks/distribution", h(s.distributionHook)).Methods(http.MethodPost)
	r.Handle("/v1/hooks/github", h(s.githubHook)).Methods(http.MethodPost)
	r.Handle("/v1/hooks/gitea", h(s.giteaHook)).Methods(http.MethodPost)
	r.Handle("/v1/hooks/harbor", h(s.harborHook)).Methods(http.MethodPost)
	for _, p := range []string{"/v1/hooks/dockerhub", "/v1/hooks/dockerhub/{token}"} {
		r.Handle(p, hideURLToken(h(s.dockerHubHook))).Methods(http.MethodPost)
	}
	for _, p := range []string{"/v1/hooks/quay", "/v1/hooks/quay/{token}"} {
		r.Handle(p, hideURLToken(h(s.quayHook))).Methods(http.MethodPost)
	}
	r.Handle("/v1/deploy", h(requireToken(s.cfg.APIToken, s.deployAPI))).Methods(http.MethodPost)
	r.Handle("/v1/events", h(requireToken(s.cfg.APIToken, s.globalEvents))).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}/events", h(requireToken(s.cfg.APIToken, s.workloadEvents))).Methods(http.MethodGet)
	r.Handle("/v1/workloads", h(requireToken(s.cfg.APIToken, s.listWorkloads))).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}", h(requireToken(s.cfg.APIToken, s.teardownWorkload))).Methods(http.MethodDelete)
	r.Handle("/v1/workloads/{name}/deploys", h(requireToken(s.cfg.APIToken, s.workloadDeploys))).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}/rollback", h(requireToken(s.cfg.APIToken, s.requireStore(s.rollbackWorkload)))).Methods(http.MethodPost)
	return r
}
