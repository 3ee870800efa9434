package sidecar

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/webhook"
)

// validBearer reports whether r carries one of the configured tokens.
func (s *Sidecar) validBearer(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	return webhook.CheckBearer(h, s.cfg.WebhookToken) || webhook.CheckBearer(h, s.cfg.APIToken) ||
		webhook.CheckBearer(h, s.cfg.Metrics.Token)
}

// routes is the sidecar's HTTP API: /healthz, /metrics (behind
// --metrics-token when set), the intake's webhooks and deploy API, and the
// management API behind --api-token. Every route is behind the
// failed-authentication limiter, and before it the masking of URL tokens:
// nothing that logs may see a Docker Hub or Quay token.
func (s *Sidecar) routes() http.Handler {
	r := mux.NewRouter()
	r.Use(httpapi.HideURLToken, httpapi.NewAuthLimiter(s.log, s.validBearer).Middleware)
	h := func(f httpapi.HandlerFunc) http.HandlerFunc { return httpapi.Handle(s.log, f) }
	api := func(f httpapi.HandlerFunc) http.HandlerFunc {
		return h(httpapi.RequireToken(s.cfg.APIToken, webhook.CheckBearer, f))
	}
	r.Handle("/healthz", h(s.healthz)).Methods(http.MethodGet)
	r.Handle("/metrics", s.metrics.Handler(s.cfg.Metrics.Token)).Methods(http.MethodGet)
	s.intake.Mount(r) // /v1/hooks/* and /v1/deploy
	r.Handle("/v1/events", api(s.globalEvents)).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}/events", api(s.workloadEvents)).Methods(http.MethodGet)
	r.Handle("/v1/workloads", api(s.listWorkloads)).Methods(http.MethodGet)
	r.Handle("/v1/hosts", api(s.listHosts)).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}", api(s.teardownWorkload)).Methods(http.MethodDelete)
	r.Handle("/v1/workloads/{name}", api(s.showWorkload)).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}/approve", api(s.requireStore(s.approveWorkload))).Methods(http.MethodPost)
	r.Handle("/v1/workloads/{name}/reject", api(s.requireStore(s.rejectWorkload))).Methods(http.MethodPost)
	r.Handle("/v1/workloads/{name}/deploys", api(s.workloadDeploys)).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}/rollback", api(s.requireStore(s.rollbackWorkload))).Methods(http.MethodPost)
	r.Handle("/v1/workloads/{name}/logs", api(s.workloadLogs)).Methods(http.MethodGet)
	r.Handle("/v1/deploys/stream", api(s.deployStream)).Methods(http.MethodGet)
	r.PathPrefix("/ui").Handler(s.statusPage()) // its own login and session (see ui)
	return r
}
