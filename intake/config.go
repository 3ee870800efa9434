package intake

import (
	"time"

	"github.com/tinyforge/tinyforge/policy"
)

// Webhook sources, as they appear in URLs (/v1/hooks/<source>), logs and
// history records.
const (
	SourceDistribution = "distribution"
	SourceGitHub       = "github"
	SourceGitea        = "gitea"
	SourceHarbor       = "harbor"
	SourceDockerHub    = "dockerhub"
	SourceQuay         = "quay"
	SourceAPI          = "api"
	// SourcePoll: the poller found a new digest in the registry.
	SourcePoll = "poll"
	// SourceApproval: an operator approved a pending delivery.
	SourceApproval = "approval"
)

// Sources lists every source, for the metrics to know them up front.
var Sources = []string{SourceDistribution, SourceGitHub, SourceGitea, SourceHarbor, SourceDockerHub, SourceQuay, SourceAPI}

// HookConfig holds the webhook secrets and the delivery settings. Every
// secret is a flag with an environment twin and a *-file variant (flag
// --x-file, env TINYFORGE_X_FILE) naming a file that holds it, as Docker
// and Kubernetes secrets are mounted (the sidecar defines the flags). A
// source without its own secret uses --webhook-token; a source with
// neither is disabled (403). Secrets never come from labels: anyone who
// can start a container could read or set them.
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
	// TokenHosts may issue bearer tokens for registries other than their
	// own host (a registry's token realm is otherwise refused there).
	TokenHosts []string
	// RegistryEndpoints maps registry hosts as images name them to the
	// base URL the sidecar reaches them at (registryapi.Resolver.Endpoints).
	RegistryEndpoints map[string]string
}

// Config is what the intake is told by the composition root.
type Config struct {
	Hooks HookConfig
	// WebhookToken is the secret of every source without its own.
	WebhookToken string
	// APIToken guards POST /v1/deploy ("": the deploy API is disabled).
	APIToken string
	// Consumer names this sidecar in the inbox's consumer group.
	Consumer string
	// Observer is told every delivery outcome (nil: nobody).
	Observer Observer
	// Images is --allowed-images: checked before any request is sent to an
	// image's registry (the deployer checks it again before the pull).
	Images policy.Images
	// ServingTag is the tag serving a workload as last seen ("" when
	// nothing does, or not known yet): the tag policy compares pushes to
	// it at intake. It must be cheap (a cache); the executor checks again
	// with a fresh look just before the deploy (Admit). nil: "".
	ServingTag func(workload string) string
	// Credentials reads the registry logins of the poller's and the
	// tag listing's requests (nil: anonymous).
	Credentials Credentials
}

// Secret is the secret of one source: its own, else the shared one ("":
// the source is disabled).
func (c Config) Secret(source string) string {
	own := map[string]string{
		SourceDistribution: c.Hooks.DistributionToken,
		SourceGitHub:       c.Hooks.GitHubSecret,
		SourceGitea:        c.Hooks.GiteaSecret,
		SourceHarbor:       c.Hooks.HarborAuth,
		SourceDockerHub:    c.Hooks.DockerHubToken,
		SourceQuay:         c.Hooks.QuayToken,
	}[source]
	if own != "" {
		return own
	}
	return c.WebhookToken
}
