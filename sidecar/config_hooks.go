package sidecar

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/imageref"
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
	var insecure, tokenHosts, endpoints string
	e.str(&insecure, "insecure-registries", "", "registry hosts reached over plain HTTP to resolve digests, comma-separated (loopback always is)")
	e.str(&tokenHosts, "registry-token-hosts", "", "hosts (host or host:port) besides a registry's own that may issue its bearer tokens, comma-separated (auth.docker.io is built in for docker.io)")
	e.str(&endpoints, "registry-endpoints", "", "registries the sidecar reaches under another name than the engine, as host=URL, comma-separated (e.g. 127.0.0.1:5000=http://registry:5000: the compose stack's registry)")
	e.after = append(e.after, func() error {
		var err error
		if c.RegistryEndpoints, err = parseEndpoints(endpoints); err != nil {
			return err
		}
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

// parseEndpoints reads --registry-endpoints: host=URL pairs, the URL
// http or https with a host and no path, the host canonical as images
// name it.
func parseEndpoints(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		host, raw, ok := strings.Cut(kv, "=")
		u, err := url.Parse(strings.TrimSpace(raw))
		switch {
		case !ok || strings.TrimSpace(host) == "":
			return nil, fmt.Errorf("--registry-endpoints %q: want host=URL", kv)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil:
			return nil, fmt.Errorf("--registry-endpoints %q: want an http or https URL with a host and nothing else, like http://registry:5000", kv)
		}
		out[imageref.CanonicalHost(strings.TrimSpace(host))] = u.Scheme + "://" + u.Host
	}
	return out, nil
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
