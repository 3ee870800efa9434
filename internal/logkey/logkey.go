// Package logkey declares the structured log field names used across the
// sidecar, once, so every log line spells a workload or a deploy the same way.
package logkey

const (
	Component = "component"
	Workload  = "workload"
	Deploy    = "deploy_id"
	Container = "container"
	Image     = "image"
	Tag       = "tag"
	Digest    = "digest"
	Face      = "face"
	Host      = "host"
	Route     = "route"
	Upstream  = "upstream"
	Source    = "source"
	Delivery  = "delivery"
	Outcome   = "outcome"
	Took      = "took"
	Switched  = "switched" // health-ok to routes serving the new container
	Step      = "step"
	Label     = "label"
	EnvKeys   = "env_keys"
	Target    = "target" // a notification target's name (never its URL)
	Scheme    = "scheme" // a notification URL's scheme (ntfy, slack, ...)
	Attempt   = "attempt"
	Events    = "events"
	FQDN      = "fqdn"
	DNSState  = "dns_state"
	RetryIn   = "retry_in"
	Action    = "action" // what a person did on the status page
)
