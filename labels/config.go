// Package labels turns the tinyforge.* labels of controller containers into
// typed, validated workload configs. It is pure: it knows nothing of Docker
// or Redis, takes a map of labels and returns workloads and precise errors.
package labels

import (
	"math"
	"time"

	"github.com/traefik/paerser/types"
)

// Controller is the root of the label tree of one controller container.
type Controller struct {
	Enable    bool                 `description:"Marks this container as a tinyforge controller."`
	Scope     string               `description:"Only the sidecar started with this --scope reads this controller; empty for a sidecar without one."`
	Signature string               `description:"HMAC of the controller's other tinyforge.* labels under a --controller-key-file key (tinyforge labels sign prints it); required by a sidecar started with that flag, ignored by others."`
	Settings  Settings             `description:"Deployment settings shared by the workloads."`
	Workloads map[string]*Workload `description:"Workloads this controller declares, by name (a DNS label: lowercase letters, digits, '-')."`
}

// Settings are the global deployment settings a controller may set. The
// security policy (allowed volume paths, allowed image prefixes) is not
// among them: it is a sidecar flag, so a controller cannot widen it.
type Settings struct {
	Network        string `description:"Docker network the workload containers join; it must be one of the sidecar's --allowed-networks (default: its --network alone)." default:"the sidecar's --network"`
	Domain         string `description:"Domain of faces that name none." default:"the sidecar's --domain"`
	BaseVolumePath string `description:"Absolute host directory holding instance, stage and project volumes; it must lie under the sidecar's allowed volume paths."`
}

// Workload is the config of one deployable service.
type Workload struct {
	// Name is the map key the workload was declared under; not a label.
	Name string `label:"-"`
	// Settings are the declaring controller's settings, copied onto each
	// of its workloads by Parse; not a label of the workload.
	Settings Settings `label:"-"`
	// KeyScope is the scope of the --controller-key-file key that signed
	// the declaring controller ("" for an unscoped key, or without
	// controller keys); set by the controller watcher, not a label.
	KeyScope string `label:"-"`

	Image             string             `description:"Fully qualified image repository, without tag or digest."`
	Registry          string             `description:"Name of the registry credentials entry used to pull; empty pulls anonymously."`
	Port              int                `description:"Container port the workload serves HTTP on (1-65535); required with an enabled face, and with an HTTP or TCP healthcheck unless healthPort is set."`
	Healthcheck       string             `description:"What must pass before traffic switches to a new container: an HTTP path polled until it answers a healthStatus code (/healthz), http (the path /), tcp (a connection to the health port suffices) or docker (the image's own HEALTHCHECK reports healthy); empty disables."`
	HealthTimeout     types.Duration     `description:"How long the health check may take: 90s, 5m, or a number of seconds." default:"60s"`
	HealthInterval    types.Duration     `description:"Time between two health probes of a new container (for docker, two reads of its health state); at least 100ms and at most healthTimeout." default:"200ms"`
	HealthStartPeriod types.Duration     `description:"Time a new container may take to boot before healthTimeout starts: failed probes in it do not count, so the check may take healthStartPeriod + healthTimeout in all."`
	HealthStatus      string             `description:"HTTP status codes that count as healthy: codes and ranges, comma-separated (200-399, or 200,204). Only with an HTTP healthcheck." default:"200-299"`
	HealthHost        string             `description:"Host header of the HTTP health probes (app.example.com), for apps that route by host. Only with an HTTP healthcheck." default:"the container address"`
	HealthPort        int                `description:"Container port the HTTP or TCP health check probes (1-65535)." default:"port"`
	DefaultTag        string             `description:"Tag deployed when a trigger names none; must be allowed by tags and policy." default:"latest"`
	Tags              string             `description:"Which pushed tags may deploy; empty allows all. Comma-separated globs (v*,stable) or one Go regexp between slashes (/^v[0-9]+[.][0-9]+$/); either way the pattern must match the whole tag."`
	Policy            string             `description:"Which tags allowed by tags may replace the serving one: all (any, as pushed), semver (any newer version), semver-minor (newer, same major), semver-patch (newer, same major.minor), or a semver range (>=1.4 <2); see Tag policies." default:"all"`
	Prerelease        bool               `description:"Let a semver policy deploy pre-release versions (1.5.0-rc.1); a range naming a pre-release takes them without it."`
	Approval          string             `description:"manual keeps each accepted delivery pending until it is approved (POST /v1/workloads/<name>/approve) or rejected, a newer one replacing it; auto deploys at once." default:"auto"`
	ApprovalTimeout   types.Duration     `description:"How long a pending delivery waits for approval before it expires; unset waits until approved or rejected. Only with approval manual."`
	Poll              types.Duration     `description:"How often to ask the registry for the digest of the tag to deploy (a manifest HEAD, no pull quota) and deploy when it changed, for registries that send no webhook; at least 30s; unset polls never."`
	Notify            string             `description:"Notification targets (names given to the sidecar's --notify NAME=URL), comma-separated, told of the workload's deploy outcomes and label or orphan problems; none sends nothing." default:"the sidecar's --notify-default"`
	MaxInstances      int                `description:"Containers kept after a deploy; 0 and 1 mean strict blue-green."`
	CPULimit          float64            `description:"CPU limit in cores, fractional (0.5); 0 is unlimited, else 0.01-1024."`
	MemoryLimit       int                `description:"Memory limit in MB; 0 is unlimited, else at least 6 (Docker's minimum)."`
	PidsLimit         int                `description:"Most processes and threads the container may run; 0 takes the sidecar's --max-pids, and a higher value is lowered to it."`
	Replicas          int                `description:"Tasks of each deployed version on a swarm (sidecar --engine swarm), every one health-checked before the switch; 0 and 1 run one. The docker engine runs one container and refuses more."`
	Placement         Placement          `description:"Where a swarm places the tasks (sidecar --engine swarm only)."`
	Command           Args               `description:"Overrides the image's CMD: shell-style words (quotes group words, backslash escapes, no variable expansion) or a JSON array of strings."`
	Entrypoint        Args               `description:"Overrides the image's ENTRYPOINT, written like command; the JSON array [] clears it."`
	Release           Release            `description:"A one-off command of the new image run before it takes traffic (a database migration)."`
	Env               map[string]string  `description:"Environment variables of the container."`
	Volumes           map[string]*Volume `description:"Volumes mounted into the container, by name (letters, digits, '_', '-')."`
	Faces             map[string]*Face   `description:"Public routes to the workload, by name."`
}

// Release is the one-off command a deploy runs from the new image after
// the pull and before the new container starts serving, on the workload's
// network, with its env and volumes. It must exit 0, else the deploy fails
// and the old version keeps serving.
type Release struct {
	Command Args              `description:"Command of the one-off release container, written like command (migrate --yes); its exit status must be 0. Empty runs none."`
	Timeout types.Duration    `description:"How long the release command may run before the deploy fails." default:"5m"`
	Env     map[string]string `description:"Environment variables of the release container only, added to (and overriding) the workload's env."`
}

// Face is one public route to a workload.
type Face struct {
	Subdomain  string `description:"Host name part in front of the domain; a face with neither subdomain nor domain is disabled."`
	Domain     string `description:"Domain of the route." default:"settings.domain"`
	TargetPort int    `description:"Container port this face forwards to." default:"port"`
	AccessList string `description:"Id of the NPM access list guarding the face, one the operator allows (--npm-access-list-id or --npm-allowed-access-lists); empty means the operator's default."`
	TLS        bool   `description:"Serve the face over HTTPS with a certificate the proxy obtains or holds; false serves plain HTTP."`
	DNS        *bool  `description:"Keep a DNS record for the face's host when the sidecar manages DNS (--dns-provider); false leaves the name to you." default:"true"`
}

// Volume is one mount of a workload container. Where its data lives
// depends on Scope; see the Scope* constants.
type Volume struct {
	Target   string `description:"Absolute path inside the container; required."`
	Source   string `description:"Host path of an absolute volume; it must lie under the sidecar's allowed volume paths. Only for scope absolute."`
	Scope    string `description:"Where the data lives: absolute, ephemeral, instance, stage, project, project_named or named (see Volume scopes); required."`
	Name     string `description:"Docker volume name of a named or project_named volume." default:"the volume's key"`
	ReadOnly bool   `description:"Mount read-only."`
}

// Defaults used when a label leaves a field empty.
const (
	DefaultTag            = "latest"
	DefaultHealthTimeout  = 60 * time.Second
	DefaultHealthInterval = 200 * time.Millisecond
	DefaultHealthStatus   = "200-299"
	DefaultReleaseTimeout = 5 * time.Minute
	DefaultPolicy         = "all"
	ApprovalAuto          = "auto"
	ApprovalManual        = "manual"
)

// Enabled reports whether the face routes anywhere: a face with neither
// subdomain nor domain is disabled.
func (f *Face) Enabled() bool { return f != nil && (f.Subdomain != "" || f.Domain != "") }

// WantsDNS reports whether the sidecar keeps a DNS record for the face's
// host: unless dns=false opts out.
func (f *Face) WantsDNS() bool { return f.DNS == nil || *f.DNS }

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

// Resource limits accepted by validation.
const (
	// MinCPULimit is the smallest CPU limit Docker accepts, in cores.
	MinCPULimit = 0.01
	// MaxCPULimit bounds cpuLimit to catch typos (cores, not millicores).
	MaxCPULimit = 1024
	// MinMemoryLimit is Docker's minimum memory limit, in MB.
	MinMemoryLimit = 6
	// MaxMemoryLimit bounds memoryLimit (16 TiB in MB) so the byte count
	// cannot overflow.
	MaxMemoryLimit = 16 << 20
	// MaxPIDsLimit is Linux's highest pid_max (2^22): a pidsLimit above it
	// is a typo.
	MaxPIDsLimit = 1 << 22
)

// NanoCPUs is the CPU limit in the unit of Docker's HostConfig.NanoCPUs;
// 0 means unlimited.
func (w *Workload) NanoCPUs() int64 { return int64(math.Round(w.CPULimit * 1e9)) }

// MemoryBytes is the memory limit in bytes, as Docker's HostConfig.Memory
// wants it; 0 means unlimited.
func (w *Workload) MemoryBytes() int64 { return int64(w.MemoryLimit) << 20 }
