package sidecar

import (
	"fmt"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/intake"
)

// hookFlags defines the flags of intake.HookConfig.
func (e *envFlags) hookFlags(c *intake.HookConfig) {
	e.secret(&c.DistributionToken, "distribution-token", "", "bearer token of /v1/hooks/distribution (default: --webhook-token)")
	e.secret(&c.GitHubSecret, "github-secret", "", "secret of the GitHub webhook, checked against X-Hub-Signature-256 (default: --webhook-token)")
	e.secret(&c.GiteaSecret, "gitea-secret", "", "secret of the Gitea/Forgejo webhook, checked against X-Gitea-Signature (default: --webhook-token)")
	e.secret(&c.HarborAuth, "harbor-auth", "", "Authorization header value Harbor sends, verbatim or as a bearer token (default: --webhook-token)")
	e.secret(&c.DockerHubToken, "dockerhub-token", "", "token Docker Hub must put in the URL: /v1/hooks/dockerhub/<token> or ?token= (default: --webhook-token)")
	e.secret(&c.QuayToken, "quay-token", "", "token Quay must put in the URL: /v1/hooks/quay/<token> or ?token= (default: --webhook-token)")
	e.duration(&c.DedupTTL, "dedup-ttl", 24*time.Hour, "how long a delivery id is remembered to drop redeliveries")
	var insecure, tokenHosts string
	e.str(&insecure, "insecure-registries", "", "registry hosts reached over plain HTTP to resolve digests, comma-separated (loopback always is)")
	e.str(&tokenHosts, "registry-token-hosts", "", "hosts (host or host:port) besides a registry's own that may issue its bearer tokens, comma-separated (auth.docker.io is built in for docker.io)")
	e.after = append(e.after, func() error {
		for _, h := range strings.Split(insecure, ",") {
			if h = strings.TrimSpace(h); h != "" {
				c.InsecureRegistries = append(c.InsecureRegistries, h)
			}
		}
		for _, h := range strings.Split(tokenHosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				c.TokenHosts = append(c.TokenHosts, h)
			}
		}
		if c.DedupTTL <= 0 {
			return fmt.Errorf("--dedup-ttl must be positive, got %s", c.DedupTTL)
		}
		return nil
	})
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
