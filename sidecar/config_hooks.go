package sidecar

import (
	"fmt"
	"strings"
	"time"
)

// Webhook sources, as they appear in URLs (/v1/hooks/<source>), logs and
// history records.
const (
	sourceDistribution = "distribution"
	sourceGitHub       = "github"
	sourceGitea        = "gitea"
	sourceHarbor       = "harbor"
	sourceDockerHub    = "dockerhub"
	sourceQuay         = "quay"
	sourceAPI          = "api"
)

// HookConfig holds the webhook secrets and the delivery settings. Every
// secret is a flag with an environment twin and a *-file variant (flag
// --x-file, env TINYFORGE_X_FILE) naming a file that holds it, as Docker
// and Kubernetes secrets are mounted. A source without its own secret uses
// --webhook-token; a source with neither is disabled (403). Secrets never
// come from labels: anyone who can start a container could read or set them.
type HookConfig struct {
	DistributionToken string // bearer token of /v1/hooks/distribution
	GitHubSecret      string // HMAC key of X-Hub-Signature-256
	GiteaSecret       string // HMAC key of X-Gitea-Signature / X-Forgejo-Signature
	HarborAuth        string // the Authorization value Harbor is configured to send
	DockerHubToken    string // token in the URL of /v1/hooks/dockerhub
	QuayToken         string // token in the URL of /v1/hooks/quay

	// DedupTTL is how long a delivery or event id is remembered.
	DedupTTL time.Duration
	// InsecureRegistries are reached over plain HTTP to resolve digests
	// (loopback registries always are).
	InsecureRegistries []string
}

// hookFlags defines the flags of HookConfig.
func (e *envFlags) hookFlags(c *HookConfig) {
	e.secret(&c.DistributionToken, "distribution-token", "", "bearer token of /v1/hooks/distribution (default: --webhook-token)")
	e.secret(&c.GitHubSecret, "github-secret", "", "secret of the GitHub webhook, checked against X-Hub-Signature-256 (default: --webhook-token)")
	e.secret(&c.GiteaSecret, "gitea-secret", "", "secret of the Gitea/Forgejo webhook, checked against X-Gitea-Signature (default: --webhook-token)")
	e.secret(&c.HarborAuth, "harbor-auth", "", "Authorization header value Harbor sends, verbatim or as a bearer token (default: --webhook-token)")
	e.secret(&c.DockerHubToken, "dockerhub-token", "", "token Docker Hub must put in the URL: /v1/hooks/dockerhub/<token> or ?token= (default: --webhook-token)")
	e.secret(&c.QuayToken, "quay-token", "", "token Quay must put in the URL: /v1/hooks/quay/<token> or ?token= (default: --webhook-token)")
	e.duration(&c.DedupTTL, "dedup-ttl", 24*time.Hour, "how long a delivery id is remembered to drop redeliveries")
	var insecure string
	e.str(&insecure, "insecure-registries", "", "registry hosts reached over plain HTTP to resolve digests, comma-separated (loopback always is)")
	e.after = append(e.after, func() error {
		for _, h := range strings.Split(insecure, ",") {
			if h = strings.TrimSpace(h); h != "" {
				c.InsecureRegistries = append(c.InsecureRegistries, h)
			}
		}
		if c.DedupTTL <= 0 {
			return fmt.Errorf("--dedup-ttl must be positive, got %s", c.DedupTTL)
		}
		return nil
	})
}

// hookSecret is the secret of one source: its own, else the shared one.
func (c Config) hookSecret(source string) string {
	own := map[string]string{
		sourceDistribution: c.Hooks.DistributionToken,
		sourceGitHub:       c.Hooks.GitHubSecret,
		sourceGitea:        c.Hooks.GiteaSecret,
		sourceHarbor:       c.Hooks.HarborAuth,
		sourceDockerHub:    c.Hooks.DockerHubToken,
		sourceQuay:         c.Hooks.QuayToken,
	}[source]
	if own != "" {
		return own
	}
	return c.WebhookToken
}

// finish runs the checks and file reads registered while defining flags.
func (e *envFlags) finish() error {
	for _, f := range e.after {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}
