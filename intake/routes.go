package intake

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/tinyforge/tinyforge/internal/httpapi"
)

// Mount adds the webhook endpoints (/v1/hooks/<source>) and the deploy API
// (POST /v1/deploy, behind the API token) to r.
func (in *Intake) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.HandlerFunc { return httpapi.Handle(in.log, f) }
	r.Handle("/v1/hooks/distribution", h(in.distributionHook)).Methods(http.MethodPost)
	r.Handle("/v1/hooks/github", h(in.githubHook)).Methods(http.MethodPost)
	r.Handle("/v1/hooks/gitea", h(in.giteaHook)).Methods(http.MethodPost)
	r.Handle("/v1/hooks/harbor", h(in.harborHook)).Methods(http.MethodPost)
	for _, p := range []string{"/v1/hooks/dockerhub", "/v1/hooks/dockerhub/{token}"} {
		r.Handle(p, httpapi.HideURLToken(h(in.dockerHubHook))).Methods(http.MethodPost)
	}
	for _, p := range []string{"/v1/hooks/quay", "/v1/hooks/quay/{token}"} {
		r.Handle(p, httpapi.HideURLToken(h(in.quayHook))).Methods(http.MethodPost)
	}
	r.Handle("/v1/deploy", h(httpapi.RequireToken(in.cfg.APIToken, in.checkAPIToken, in.deployAPI))).Methods(http.MethodPost)
}
