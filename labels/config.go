// Package labels turns the tinyforge.* labels of controller containers into
// typed, validated workload configs. It is pure: it knows nothing of Docker
// or Redis, takes a map of labels and returns workloads and precise errors.
package labels

import (
	"time"

	"github.com/traefik/paerser/types"
)

// Controller is the root of the label tree of one controller container.
type Controller struct {
	Enable    bool                 `description:"Marks this container as a tinyforge controller."`
	Workloads map[string]*Workload `description:"Workloads this controller declares, by name."`
}

// Workload is the config of one deployable service.
type Workload struct {
	// Name is the map key the workload was declared under; not a label.
	Name string `label:"-"`

	Image         string            `description:"Fully qualified image repository, without tag."`
	Port          int               `description:"Container port the workload serves HTTP on."`
	Healthcheck   string            `description:"HTTP path polled until 2xx before traffic switches; empty disables."`
	HealthTimeout types.Duration    `description:"How long the health check may take (default 60s)."`
	DefaultTag    string            `description:"Tag deployed when a trigger names none (default latest)."`
	MaxInstances  int               `description:"Containers kept after a deploy; 0 and 1 mean strict blue-green."`
	Env           map[string]string `description:"Environment variables of the container."`
	Faces         map[string]*Face  `description:"Public routes to the workload, by name."`
}

// Face is one public route to a workload.
type Face struct {
	Subdomain  string `description:"Host label in front of the domain."`
	Domain     string `description:"Domain of the route (default: the sidecar's domain)."`
	TargetPort int    `description:"Container port this face forwards to (default: the workload port)."`
}

// Defaults used when a label leaves a field empty.
const (
	DefaultTag           = "latest"
	DefaultHealthTimeout = 60 * time.Second
)

// Enabled reports whether the face routes anywhere: a face with neither
// subdomain nor domain is disabled.
func (f *Face) Enabled() bool { return f != nil && (f.Subdomain != "" || f.Domain != "") }

// Host is the fully qualified host name of the face, using defaultDomain
// when the face names none.
func (f *Face) Host(defaultDomain string) string {
	domain := f.Domain
	if domain == "" {
		domain = defaultDomain
	}
	if f.Subdomain == "" {
		return domain
	}
	return f.Subdomain + "." + domain
}

// Port is the container port the face forwards to.
func (f *Face) Port(w *Workload) int {
	if f.TargetPort != 0 {
		return f.TargetPort
	}
	return w.Port
}

// Instances is the number of containers to keep after a deploy (at least 1).
func (w *Workload) Instances() int { return max(w.MaxInstances, 1) }

// HealthWait is how long a deploy waits for the health check.
func (w *Workload) HealthWait() time.Duration {
	if w.HealthTimeout > 0 {
		return time.Duration(w.HealthTimeout)
	}
	return DefaultHealthTimeout
}

// ResolveTag picks the tag to deploy: the trigger's, else the workload's
// default, else latest.
func (w *Workload) ResolveTag(requested string) string {
	switch {
	case requested != "":
		return requested
	case w.DefaultTag != "":
		return w.DefaultTag
	default:
		return DefaultTag
	}
}
