package sidecar

import (
	"net/http"

	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/webhook"
)

// githubHook takes GitHub package (and legacy registry_package) events for
// GHCR: X-Hub-Signature-256 over the raw body is checked before anything
// is parsed.
func (s *Sidecar) githubHook(w http.ResponseWriter, r *http.Request) error {
	secret := s.cfg.hookSecret(sourceGitHub)
	if secret == "" {
		return httpapi.Errorf(http.StatusForbidden, "github webhooks disabled: set --github-secret or --webhook-token")
	}
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return err
	}
	if !webhook.CheckHMACSHA256(body, secret, r.Header.Get("X-Hub-Signature-256")) {
		return s.reject(r, sourceGitHub, http.StatusUnauthorized, "missing or wrong X-Hub-Signature-256")
	}
	pushes, err := webhook.ParseGitHub(r.Header.Get("X-GitHub-Event"), r.Header.Get("Content-Type"), body)
	return s.parsed(w, r, sourceGitHub, r.Header.Get("X-GitHub-Delivery"), pushes, err)
}

// giteaHook takes Gitea and Forgejo package events, signed with a bare
// hex HMAC-SHA256 in X-Gitea-Signature or X-Forgejo-Signature.
func (s *Sidecar) giteaHook(w http.ResponseWriter, r *http.Request) error {
	secret := s.cfg.hookSecret(sourceGitea)
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
	if !webhook.CheckHMACSHA256(body, secret, header("Signature")) {
		return s.reject(r, sourceGitea, http.StatusUnauthorized, "missing or wrong X-Gitea-Signature / X-Forgejo-Signature")
	}
	pushes, err := webhook.ParseGitea(header("Event"), r.Header.Get("Content-Type"), body)
	return s.parsed(w, r, sourceGitea, header("Delivery"), pushes, err)
}

// harborHook takes Harbor PUSH_ARTIFACT events in the default or the
// CloudEvents format; Harbor sends the configured Authorization value.
func (s *Sidecar) harborHook(w http.ResponseWriter, r *http.Request) error {
	secret := s.cfg.hookSecret(sourceHarbor)
	if secret == "" {
		return httpapi.Errorf(http.StatusForbidden, "harbor webhooks disabled: set --harbor-auth or --webhook-token")
	}
	if !webhook.CheckAuthorization(r.Header.Get("Authorization"), secret) {
		return s.reject(r, sourceHarbor, http.StatusUnauthorized, "missing or wrong Authorization header")
	}
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return err
	}
	pushes, err := webhook.ParseHarbor(r.Header.Get("Content-Type"), body)
	return s.parsed(w, r, sourceHarbor, "", pushes, err)
}

// dockerHubHook takes Docker Hub pushes. Docker Hub signs nothing, so the
// URL must carry the secret token (path or ?token=).
func (s *Sidecar) dockerHubHook(w http.ResponseWriter, r *http.Request) error {
	return s.tokenHook(w, r, sourceDockerHub, webhook.ParseDockerHub)
}

// quayHook takes Quay repo_push notifications, with the token in the URL
// like Docker Hub.
func (s *Sidecar) quayHook(w http.ResponseWriter, r *http.Request) error {
	return s.tokenHook(w, r, sourceQuay, webhook.ParseQuay)
}

func (s *Sidecar) tokenHook(w http.ResponseWriter, r *http.Request, source string, parse func([]byte) ([]webhook.Push, error)) error {
	secret := s.cfg.hookSecret(source)
	if secret == "" {
		return httpapi.Errorf(http.StatusForbidden, source+" webhooks disabled: set --"+source+"-token or --webhook-token")
	}
	if !webhook.CheckToken(httpapi.URLToken(r), secret) {
		return s.reject(r, source, http.StatusUnauthorized, "missing or wrong token in the URL")
	}
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return err
	}
	pushes, err := parse(body)
	return s.parsed(w, r, source, "", pushes, err)
}
