package intake

import (
	"net/http"

	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/webhook"
)

// githubHook takes GitHub package (and legacy registry_package) events for
// GHCR: X-Hub-Signature-256 over the raw body is checked before anything
// is parsed.
func (in *Intake) githubHook(w http.ResponseWriter, r *http.Request) error {
	secret := in.cfg.Secret(SourceGitHub)
	if secret == "" {
		return httpapi.Errorf(http.StatusForbidden, "github webhooks disabled: set --github-secret or --webhook-token")
	}
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return err
	}
	if !webhook.CheckHMACSHA256(body, secret, r.Header.Get("X-Hub-Signature-256")) {
		return in.reject(r, SourceGitHub, http.StatusUnauthorized, "missing or wrong X-Hub-Signature-256")
	}
	pushes, err := webhook.ParseGitHub(r.Header.Get("X-GitHub-Event"), r.Header.Get("Content-Type"), body)
	return in.parsed(w, r, SourceGitHub, r.Header.Get("X-GitHub-Delivery"), pushes, err)
}

// giteaHook takes Gitea and Forgejo package events, JSON or form-encoded,
// signed with a bare hex HMAC-SHA256 of the JSON payload in
// X-Gitea-Signature or X-Forgejo-Signature.
func (in *Intake) giteaHook(w http.ResponseWriter, r *http.Request) error {
	secret := in.cfg.Secret(SourceGitea)
	if secret == "" {
		return httpapi.Errorf(http.StatusForbidden, "gitea webhooks disabled: set --gitea-secret or --webhook-token")
	}
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return err
	}
	header := func(name string) string { // Forgejo sends both families; its own wins
		if v := r.Header.Get("X-Forgejo-" + name); v != "" {
			return v
		}
		return r.Header.Get("X-Gitea-" + name)
	}
	if !webhook.CheckGiteaSignature(r.Header.Get("Content-Type"), body, secret, header("Signature")) {
		return in.reject(r, SourceGitea, http.StatusUnauthorized, "missing or wrong X-Gitea-Signature / X-Forgejo-Signature")
	}
	pushes, err := webhook.ParseGitea(header("Event"), r.Header.Get("Content-Type"), body)
	return in.parsed(w, r, SourceGitea, header("Delivery"), pushes, err)
}

// harborHook takes Harbor PUSH_ARTIFACT events in the default or the
// CloudEvents format; Harbor sends the configured Authorization value.
func (in *Intake) harborHook(w http.ResponseWriter, r *http.Request) error {
	secret := in.cfg.Secret(SourceHarbor)
	if secret == "" {
		return httpapi.Errorf(http.StatusForbidden, "harbor webhooks disabled: set --harbor-auth or --webhook-token")
	}
	if !webhook.CheckAuthorization(r.Header.Get("Authorization"), secret) {
		return in.reject(r, SourceHarbor, http.StatusUnauthorized, "missing or wrong Authorization header")
	}
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return err
	}
	pushes, err := webhook.ParseHarbor(r.Header.Get("Content-Type"), body)
	return in.parsed(w, r, SourceHarbor, "", pushes, err)
}

// dockerHubHook takes Docker Hub pushes. Docker Hub signs nothing, so the
// URL must carry the secret token (path or ?token=).
func (in *Intake) dockerHubHook(w http.ResponseWriter, r *http.Request) error {
	return in.tokenHook(w, r, SourceDockerHub, webhook.ParseDockerHub)
}

// quayHook takes Quay repo_push notifications, with the token in the URL
// like Docker Hub.
func (in *Intake) quayHook(w http.ResponseWriter, r *http.Request) error {
	return in.tokenHook(w, r, SourceQuay, webhook.ParseQuay)
}

func (in *Intake) tokenHook(w http.ResponseWriter, r *http.Request, source string, parse func([]byte) ([]webhook.Push, error)) error {
	secret := in.cfg.Secret(source)
	if secret == "" {
		return httpapi.Errorf(http.StatusForbidden, source+" webhooks disabled: set --"+source+"-token or --webhook-token")
	}
	if !webhook.CheckToken(httpapi.URLToken(r), secret) {
		return in.reject(r, source, http.StatusUnauthorized, "missing or wrong token in the URL")
	}
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return err
	}
	pushes, err := parse(body)
	return in.parsed(w, r, source, "", pushes, err)
}
