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
	return webhook.CheckBearer(h, s.cfg.WebhookToken) || webhook.CheckBearer(h, s.cfg.APIToken)
}

func (s *Sidecar) routes() http.Handler {
	r := mux.NewRouter()
	r.Use(httpapi.NewAuthLimiter(s.log, s.validBearer).Middleware)
	h := func(f httpapi.HandlerFunc) http.HandlerFunc { return httpapi.Handle(s.log, f) }
	api := func(f httpapi.HandlerFunc) http.HandlerFunc {
		return h(httpapi.RequireToken(s.cfg.APIToken, webhook.CheckBearer, f))
	}
	r.Handle("/healthz", h(s.healthz)).Methods(http.MethodGet)
	r.Handle("/v1/hooks/distribution", h(s.distributionHook)).Methods(http.MethodPost)
	r.Handle("/v1/hooks/github", h(s.githubHook)).Methods(http.MethodPost)
	r.Handle("/v1/hooks/gitea", h(s.giteaHook)).Methods(http.MethodPost)
	r.Handle("/v1/hooks/harbor", h(s.harborHook)).Methods(http.MethodPost)
	for _, p := range []string{"/v1/hooks/dockerhub", "/v1/hooks/dockerhub/{token}"} {
		r.Handle(p, httpapi.HideURLToken(h(s.dockerHubHook))).Methods(http.MethodPost)
	}
	for _, p := range []string{"/v1/hooks/quay", "/v1/hooks/quay/{token}"} {
		r.Handle(p, httpapi.HideURLToken(h(s.quayHook))).Methods(http.MethodPost)
	}
	r.Handle("/v1/deploy", api(s.deployAPI)).Methods(http.MethodPost)
	r.Handle("/v1/events", api(s.globalEvents)).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}/events", api(s.workloadEvents)).Methods(http.MethodGet)
	r.Handle("/v1/workloads", api(s.listWorkloads)).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}", api(s.teardownWorkload)).Methods(http.MethodDelete)
	r.Handle("/v1/workloads/{name}/deploys", api(s.workloadDeploys)).Methods(http.MethodGet)
	r.Handle("/v1/workloads/{name}/rollback", api(s.requireStore(s.rollbackWorkload))).Methods(http.MethodPost)
	return r
}
