package deployer

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/policy"
)

// Config wires an Engine to its collaborators and global settings.
type Config struct {
	Docker Docker
	Proxy  Proxy
	Store  Store
	Health HealthChecker // default: HTTPHealth{}

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

	// VerifyTimeout bounds how long a Verifier proxy may take to confirm
	// the new routes before the switch is undone. Default 30s.
	VerifyTimeout time.Duration
	// PublishHost, when set, publishes the face ports of new containers on
	// ephemeral ports of the Docker host (bound to PublishBind, default
	// PublishHost) and makes routes dial PublishHost:<host port>: for a
	// proxy on another machine, such as a remote Nginx Proxy Manager.
	PublishHost string
	PublishBind string

	Log zerolog.Logger
	Now func() time.Time // default: time.Now
}

// Engine runs deploys and reconcile passes.
type Engine struct {
	Config
}

// New returns an Engine with defaults applied.
func New(cfg Config) *Engine {
	if cfg.Health == nil {
		cfg.Health = HTTPHealth{}
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
	return &Engine{Config: cfg}
}

// Result describes one finished deploy.
type Result struct {
	Deploy    string
	Noop      bool // the workload already ran this image and config: no new container
	Rerouted  bool // (with Noop) the faces changed and were switched to the running container
	Container string
	Image     string
	Digest    string
	Removed   []string // surplus containers removed
}

// Containers lists the containers this engine owns (of one workload, or
// all when workload is ""), in one Docker call. A container of another
// scope is never among them, even for an engine without a scope.
func (e *Engine) Containers(ctx context.Context, workload string) ([]Container, error) {
	all, err := e.Docker.List(ctx, e.managed(workload))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(c Container) bool { return c.Labels[labels.Scope] != e.Scope }), nil
}

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

// Deploy runs one blue-green deploy of w. Any failure before the switch
// removes only the new container; the old one keeps serving. Deploying an
// image the workload already runs is a no-op that records nothing.
func (e *Engine) Deploy(ctx context.Context, w *labels.Workload, req Request) (Result, error) {
	tag := w.ResolveTag(req.Tag)
	network := cmp.Or(w.Settings.Network, e.Network)
	ctx = WithRegistry(ctx, w.Registry)
	if network == "" {
		return Result{}, ErrNoNetwork
	}
	d := &deploy{
		Engine: e, w: w, req: req, tag: tag,
		ref:         w.Image + ":" + tag,
		network:     network,
		domain:      cmp.Or(w.Settings.Domain, e.Domain),
		fingerprint: Fingerprint(w, network),
		id:          newDeployID(e.Now()),
		start:       e.Now(),
	}
	d.log = e.Log.With().Str(logkey.Workload, w.Name).Str(logkey.Deploy, d.id).Str(logkey.Image, d.ref).Logger()
	existing, err := e.Containers(ctx, w.Name)
	if err != nil {
		return Result{}, fmt.Errorf("list containers of %s: %w", w.Name, err)
	}
	routes, err := e.Store.Routes(ctx, w.Name)
	if err != nil {
		return Result{}, fmt.Errorf("read routes of %s: %w", w.Name, err)
	}
	existing = Serving(existing, routes, HasFaces(w))
	if req.Digest != "" {
		if c, ok := d.running(existing, req.Digest); ok {
			return d.converge(ctx, c)
		}
	}
	res, err := d.run(ctx, existing)
	if !res.Noop {
		d.record(ctx, "deployed", res, err)
	}
	return res, err
}

// running finds a serving container of the workload that already runs
// digest with the current runtime config: deploying again would change
// nothing, whatever tag the digest was pushed under.
func (d *deploy) running(cs []Container, digest string) (Container, bool) {
	for _, c := range cs {
		if c.Running && c.Labels[labels.ManagedDigest] == digest && strings.HasPrefix(c.Labels[labels.ManagedImage], d.w.Image+":") &&
			c.Labels[labels.ManagedConfig] == d.fingerprint {
			return c, true
		}
	}
	return Container{}, false
}

func newDeployID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return strconv.FormatInt(now.UnixMilli(), 36) + "-" + hex.EncodeToString(b)
}

// deploy is the state of one deploy in flight.
type deploy struct {
	*Engine
	w           *labels.Workload
	req         Request
	tag         string
	ref         string // repository:tag
	network     string
	domain      string
	fingerprint string
	id          string
	start       time.Time
	log         zerolog.Logger

	healthy  time.Time     // when the health check passed
	switched time.Duration // health-ok to routes serving the new container
}

func (d *deploy) run(ctx context.Context, existing []Container) (Result, error) {
	res := Result{Deploy: d.id, Image: d.ref}
	if err := d.checkImage(); err != nil {
		return res, err
	}

	digest, err := d.Docker.Pull(ctx, d.pullRef())
	if err != nil {
		return res, err // the Docker adapter names the ref
	}
	if digest == "" {
		digest = d.req.Digest
	}
	res.Digest = digest
	// The pull told us what the tag points at now; a trigger that named no
	// digest may still ask for what already runs.
	if c, ok := d.running(existing, digest); ok && digest != "" {
		return d.converge(ctx, c)
	}
	if err := d.Docker.EnsureNetwork(ctx, d.network); err != nil {
		return res, fmt.Errorf("network %s: %w", d.network, err)
	}

	inst, err := d.startNew(ctx, digest)
	if err != nil {
		return res, err
	}
	res.Container = inst.ID
	d.log = d.log.With().Str(logkey.Container, inst.Name).Logger()

	if err := d.waitHealthy(ctx, inst); err != nil {
		d.removeNew(ctx, inst)
		return res, err
	}
	d.healthy = d.Now()
	if err := d.switchRoutes(ctx, &inst); err != nil {
		d.removeNew(ctx, inst)
		return res, err
	}
	res.Removed = d.removeSurplus(ctx, inst.ID)
	return res, nil
}

// pullRef is what to pull and run: the pushed digest when the trigger
// names one, so the deploy runs exactly what was pushed even if the tag
// moves (and even before the registry has linked the tag: distribution
// notifies before it does), else the tag.
func (d *deploy) pullRef() string {
	if d.req.Digest != "" {
		return d.w.Image + "@" + d.req.Digest
	}
	return d.ref
}

// startNew creates, records and starts the new container.
func (d *deploy) startNew(ctx context.Context, digest string) (Instance, error) {
	now := d.Now()
	inst := Instance{
		Name:     ContainerName(d.w.Name, d.tag, now),
		Workload: d.w.Name,
		Image:    d.ref,
		Tag:      d.tag,
		Digest:   digest,
		Deploy:   d.id,
		State:    StateCreated,
		Network:  d.network,
		Created:  now.UTC(),
	}
	spec, err := d.containerSpec(ctx, inst.Name)
	if err != nil {
		return inst, err
	}
	spec.Labels = withLabels(d.Labels, d.managed(d.w.Name))
	maps.Copy(spec.Labels, map[string]string{
		labels.ManagedTag:     d.tag,
		labels.ManagedImage:   d.ref,
		labels.ManagedDigest:  digest,
		labels.ManagedDeploy:  d.id,
		labels.ManagedPort:    strconv.Itoa(d.w.Port),
		labels.ManagedConfig:  d.fingerprint,
		labels.ManagedNetwork: d.network,
	})
	d.proxySpec(&spec, inst)
	id, err := d.Docker.Create(ctx, spec)
	if err != nil {
		return inst, fmt.Errorf("create %s: %w", inst.Name, err)
	}
	inst.ID = id
	if err := d.Store.PutInstance(ctx, inst); err != nil {
		d.removeNew(ctx, Instance{ID: id, Name: inst.Name})
		return inst, fmt.Errorf("record %s: %w", inst.Name, err)
	}
	if err := d.Docker.Start(ctx, id); err != nil {
		d.removeNew(ctx, inst)
		return inst, fmt.Errorf("start %s: %w", inst.Name, err)
	}
	c, err := d.Docker.Inspect(ctx, id)
	if err != nil {
		d.removeNew(ctx, inst)
		return inst, fmt.Errorf("inspect %s: %w", inst.Name, err)
	}
	inst.State = StateRunning
	inst.Address = c.IPs[d.network]
	if err := d.publishedPorts(&inst, spec, c); err != nil {
		d.removeNew(ctx, inst)
		return inst, err
	}
	if err := d.Store.PutInstance(ctx, inst); err != nil {
		d.removeNew(ctx, inst)
		return inst, fmt.Errorf("record %s: %w", inst.Name, err)
	}
	d.log.Debug().Str(logkey.Container, inst.Name).Str("address", inst.Address).Msg("started")
	return inst, nil
}

// waitHealthy polls the health path from the sidecar, failing early when
// the container stops running.
func (d *deploy) waitHealthy(ctx context.Context, inst Instance) error {
	if d.w.Healthcheck == "" {
		return nil
	}
	if inst.Address == "" {
		return fmt.Errorf("health check %s: no address on network %s", inst.Name, d.network)
	}
	url := "http://" + net.JoinHostPort(inst.Address, strconv.Itoa(d.w.Port)) + d.w.Healthcheck
	hctx, cancel := context.WithTimeoutCause(ctx, d.w.HealthWait(), ErrUnhealthy)
	defer cancel()
	died := make(chan error, 1)
	go func() { died <- d.watchAlive(hctx, inst.ID); cancel() }()
	err := d.Health.WaitHealthy(hctx, url)
	cancel()
	if dead := <-died; dead != nil && err != nil {
		err = fmt.Errorf("%w: %w", ErrUnhealthy, dead)
	}
	if err != nil {
		return fmt.Errorf("health check %s: %w", inst.Name, err)
	}
	d.log.Debug().Dur(logkey.Took, d.Now().Sub(d.start)).Msg("healthy")
	return nil
}

// watchAlive returns an error as soon as the container stops running, or
// nil when ctx ends first.
func (d *deploy) watchAlive(ctx context.Context, id string) error {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		c, err := d.Docker.Inspect(ctx, id)
		if err == nil && !c.Running {
			return fmt.Errorf("container %s", c.State)
		}
	}
}

// removeNew undoes startNew: the new container and its record go, nothing
// else is touched. It runs even when ctx was cancelled.
func (d *deploy) removeNew(ctx context.Context, inst Instance) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := d.Docker.Remove(ctx, inst.ID); err != nil {
		d.log.Error().Err(err).Str(logkey.Container, inst.Name).Msg("remove new container")
	}
	if err := d.Store.DeleteInstance(ctx, inst.ID); err != nil {
		d.log.Error().Err(err).Str(logkey.Container, inst.Name).Msg("delete record of new container")
	}
}

// record writes the outcome to the workload's history: success, or
// "failed: <reason>" when err is set.
func (d *deploy) record(ctx context.Context, success string, res Result, err error) {
	ev := Event{
		Time:    d.Now().UTC(),
		Deploy:  d.id,
		Outcome: success,
		Image:   d.ref,
		Digest:  res.Digest,
		Source:  d.req.Source,
		Took:    d.Now().Sub(d.start),

		Switched: d.switched,
	}
	logEv := d.log.Info()
	if err != nil {
		ev.Outcome = "failed: " + err.Error()
		logEv = d.log.Error().Err(err)
	}
	if ev.Switched > 0 {
		logEv = logEv.Dur(logkey.Switched, ev.Switched)
	}
	logEv.Str(logkey.Outcome, ev.Outcome).Dur(logkey.Took, ev.Took).Msg("deploy finished")
	if err := d.Store.AppendEvent(context.WithoutCancel(ctx), d.w.Name, ev); err != nil {
		d.log.Error().Err(err).Msg("record deploy event")
	}
}

// withLabels returns extra overlaid with own: own keys always win.
func withLabels(extra, own map[string]string) map[string]string {
	out := maps.Clone(extra)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, own)
	return out
}

// envList turns the env map into sorted KEY=value pairs.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
