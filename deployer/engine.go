package deployer

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/policy"
)

// Config wires an Engine to its collaborators and global settings.
type Config struct {
	Docker Docker
	Proxy  Proxy
	Store  Store
	Health HealthChecker // default: Prober{}

	Network string // Docker network new containers join, unless the controller's settings name one
	Domain  string // default domain of faces, unless the controller's settings name one
	// Volumes is the sidecar's volume policy; BaseVolumePath is the
	// default when the controller's settings name none.
	Volumes VolumePolicy

	// Drain is how long the old container keeps running after the switch
	// before it is stopped, so requests in flight through the proxy finish.
	Drain time.Duration
	// StopGrace is how long a stopping container gets before it is killed.
	StopGrace time.Duration
	// UpstreamByName makes routes dial the container by name (for proxies
	// inside the Docker network) instead of by IP (for proxies on the host).
	UpstreamByName bool
	// Labels are added to every container created (the managed labels win).
	Labels map[string]string
	// Scope, when set, is stamped on every container created and required
	// of every container the engine lists, so engines of different scopes
	// sharing one Docker host never see each other's containers.
	Scope string

	// Images refuses, before any pull, images outside --allowed-images.
	Images policy.Images
	// Limits caps and defaults the containers' CPU and memory.
	Limits policy.Limits
	// EnvOverrides, when set, supplies stored env overrides merged over the
	// labels' env at deploy time.
	EnvOverrides EnvSource
	// Registries, when set, tells the key scope of stored registry
	// credentials: a workload may pull only with credentials of its own.
	Registries RegistryScopes

	// VerifyTimeout bounds how long a Verifier proxy may take to confirm
	// the new routes before the switch is undone. Default 30s.
	VerifyTimeout time.Duration
	// PublishHost, when set, publishes the face ports of new containers on
	// ephemeral ports of the Docker host (bound to PublishBind, default
	// PublishHost) and makes routes dial PublishHost:<host port>: for a
	// proxy on another machine, such as a remote Nginx Proxy Manager.
	PublishHost string
	PublishBind string
	// Coord locks, fences and journals deploys. Required, and set by the
	// composition root: the shared store's (redisstore) when several
	// sidecars may share it, NewLocalCoordinator for one process alone.
	Coord Coordinator
	// Owner names this sidecar in locks and history (default "tinyforge").
	Owner string
	// LockTTL is how long a deploy lock lives without renewal; it is
	// renewed every third of it while the deploy runs. Default 15 s.
	LockTTL time.Duration
	// LockPoll is the mean wait between attempts on a busy lock (200 ms).
	LockPoll time.Duration
	// Watch is how long the new container is watched after the switch
	// (death, restart, unhealthy) before the old one is stopped; a failure
	// switches routes back to the old one. 0 disables the watch.
	Watch time.Duration
	// WatchInterval is how often the watch polls the container and its
	// health path (default 1 s).
	WatchInterval time.Duration

	// Identity, when set, signs the identity labels of every container
	// created and is required of every container the engine lists (see
	// Containers); without it, tinyforge.managed=true is believed as is.
	Identity Signer
	// Hosts, when set, records which workload owns each host name: a face
	// whose host another workload owns is refused (see claimHosts).
	Hosts HostClaims
	// ReservedHosts are host names no workload may claim (the sidecar's
	// own hooks host), with the reason reported to who asks.
	ReservedHosts map[string]string

	// Names, when set, keeps a DNS record for every face's host: ensured
	// before its route goes live, removed when the route goes away.
	Names Names

	// AtStep, when set, is called after each deploy step is journaled.
	// TEST HOOK ONLY: the e2e tests use it (via TINYFORGE_TEST_PAUSE_AT)
	// to block a deploy at a step boundary and kill the sidecar there.
	AtStep func(ctx context.Context, step string)

	// OnFinished, when set, is told every deploy outcome the engine
	// records in a workload's history (deployed, rerouted, failed, rolled
	// back, and those of recovered deploys), after it is written; metrics
	// and notifications hang here. It runs on the deploy's goroutine and
	// must return at once.
	OnFinished func(workload string, ev Event)
	// OnStep, when set, is told each step a deploy reaches, right after
	// it is journaled (and the dns step once timed), with the journal as
	// it stands; the live deploy stream hangs here. It runs on the
	// deploy's goroutine and must return at once.
	OnStep func(j Journal)
	// OnDrained, when set, is told when the background drain of a
	// successful deploy has stopped and removed the containers it
	// replaced, with the time from the end of the watch to then; the
	// drain phase of the metrics hangs here. It must return at once.
	OnDrained func(workload string, took time.Duration)

	Log zerolog.Logger
	Now func() time.Time // default: time.Now
}

// Engine runs deploys and reconcile passes.
type Engine struct {
	Config

	drains    *drainer       // the background drains of successful deploys
	released  lockNotes      // wakes this process's lock waiters on a release
	suspects  *suspects      // containers labelled managed that are not ours
	conflicts *hostConflicts // faces refused because another workload owns the host
}

// ErrNoCoordinator: Config.Coord is required. It is never guessed from
// the store, because a wrapped store would silently fall back to an
// in-process coordinator that does not protect sidecars sharing the store.
var ErrNoCoordinator = errors.New("deployer config: Coord is required (the shared store's coordinator, or NewLocalCoordinator for one process)")

// New returns an Engine with defaults applied, or ErrNoCoordinator.
func New(cfg Config) (*Engine, error) {
	if cfg.Coord == nil {
		return nil, ErrNoCoordinator
	}
	if cfg.Health == nil {
		cfg.Health = Prober{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.VerifyTimeout == 0 {
		cfg.VerifyTimeout = 30 * time.Second
	}
	if cfg.PublishBind == "" {
		cfg.PublishBind = cfg.PublishHost
	}
	if cfg.Owner == "" {
		cfg.Owner = "tinyforge"
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = DefaultLockTTL
	}
	if cfg.LockPoll <= 0 {
		cfg.LockPoll = defaultLockPoll
	}
	if cfg.WatchInterval <= 0 {
		cfg.WatchInterval = time.Second
	}
	return &Engine{Config: cfg, drains: newDrainer(), suspects: &suspects{}, conflicts: &hostConflicts{}}, nil
}

// Result describes one finished deploy.
type Result struct {
	Deploy    string
	Noop      bool // the workload already ran this image and config: no new container
	Rerouted  bool // (with Noop) the faces changed and were switched to the running container
	Container string
	Image     string
	Digest    string
	Removed   []string // surplus containers removed (by a recovery; a deploy's drain runs in the background)
	Epoch     int64    // fencing epoch of the deploy's lease
	// RolledBack: the new container failed its post-switch watch and the
	// routes went back to the previous container.
	RolledBack bool
}

// Containers lists the containers this engine owns (of one workload, or
// all when workload is ""), in one Docker call. A container of another
// scope is never among them, even for an engine without a scope, nor one
// whose identity signature does not verify (see Identity: those are
// reported by Unverified), nor the one-off container of a release command
// (see releases), which never serves.
func (e *Engine) Containers(ctx context.Context, workload string) ([]Container, error) {
	all, err := e.owned(ctx, workload)
	return slices.DeleteFunc(all, isRelease), err
}

// owned is Containers with the release containers.
func (e *Engine) owned(ctx context.Context, workload string) ([]Container, error) {
	all, err := e.Docker.List(ctx, e.managed(workload))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(c Container) bool { return c.Labels[labels.Scope] != e.Scope || !e.authentic(c) }), nil
}

// isRelease tells the one-off container of a release command.
func isRelease(c Container) bool { return c.Labels[labels.ManagedRelease] != "" }

// managed is the label filter of the containers this engine owns; with a
// workload name, of that workload's only.
func (e *Engine) managed(workload string) map[string]string {
	f := map[string]string{labels.Managed: "true"}
	if workload != "" {
		f[labels.ManagedWorkload] = workload
	}
	if e.Scope != "" {
		f[labels.Scope] = e.Scope
	}
	return f
}
