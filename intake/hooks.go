package intake

import (
	"net/http"

	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/webhook"
)

// distributionHook takes CNCF distribution notifications (registry 2.x
// and 3.x, GitLab's and Harbor's inner registry): bearer token first,
// then the events; tagged manifest pushes go to the inbox.
func (in *Intake) distributionHook(w http.ResponseWriter, r *http.Request) error {
	token := in.cfg.Secret(SourceDistribution)
	if token == "" {
		return httpapi.Errorf(http.StatusForbidden, "distribution webhooks disabled: set --distribution-token or --webhook-token")
	}
	if !webhook.CheckBearer(r.Header.Get("Authorization"), token) {
		return in.reject(r, SourceDistribution, http.StatusUnauthorized, "missing or wrong bearer token")
	}
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return err
	}
	pushes, err := webhook.ParseDistribution(r.Header.Get("Content-Type"), body)
	return in.parsed(w, r, SourceDistribution, "", pushes, err)
}
