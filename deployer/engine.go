package deployer

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

	// AtStep, when set, is called after each deploy step is journaled.
	// TEST HOOK ONLY: the e2e tests use it (via TINYFORGE_TEST_PAUSE_AT)
	// to block a deploy at a step boundary and kill the sidecar there.
	AtStep func(ctx context.Context, step string)

	Log zerolog.Logger
	Now func() time.Time // default: time.Now
}

// Engine runs deploys and reconcile passes.
type Engine struct {
	Config
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
	return &Engine{Config: cfg}, nil
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
	Epoch     int64    // fencing epoch of the deploy's lease
	// RolledBack: the new container failed its post-switch watch and the
	// routes went back to the previous container.
	RolledBack bool
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

// Deploy runs one blue-green deploy of w under the workload's deploy lock.
// Any failure before the switch removes only the new container; the old
// one keeps serving. Deploying an image the workload already runs is a
// no-op that records nothing. Each step is journaled, so a deploy cut short
// by a crash is finished or undone by the next reconcile (see Sync).
func (e *Engine) Deploy(ctx context.Context, w *labels.Workload, req Request) (Result, error) {
	tag := w.ResolveTag(req.Tag)
	network := cmp.Or(w.Settings.Network, e.Network)
	if network == "" {
		return Result{}, ErrNoNetwork
	}
	lease, err := e.lock(ctx, w.Name)
	if err != nil {
		return Result{}, err
	}
	locked := e.Now()
	ctx, release := e.keepLease(ctx, lease)
	defer release()
	if err := e.recoverOpen(ctx, lease, w.Name); err != nil {
		return Result{}, fmt.Errorf("recover unfinished deploys of %s: %w", w.Name, err)
	}

	d := &deploy{
		Engine: e, w: w, req: req, tag: tag,
		ref:         w.Image + ":" + tag,
		network:     network,
		domain:      cmp.Or(w.Settings.Domain, e.Domain),
		fingerprint: Fingerprint(w, network),
		id:          newDeployID(e.Now()),
		start:       locked,
		stepAt:      locked,
		lease:       lease,
	}
	d.j = Journal{
		ID: d.id, Workload: w.Name, Image: d.ref, Tag: tag, Digest: req.Digest, Source: req.Source,
		Keep: w.Instances(), Epoch: lease.Epoch, Owner: e.Owner, Started: locked.UTC(),
	}
	d.log = e.Log.With().Str(logkey.Workload, w.Name).Str(logkey.Deploy, d.id).Str(logkey.Image, d.ref).
		Int64("epoch", lease.Epoch).Logger()
	existing, err := e.Containers(ctx, w.Name)
	if err != nil {
		return Result{}, fmt.Errorf("list containers of %s: %w", w.Name, err)
	}
	routes, err := e.Store.Routes(ctx, w.Name)
	if err != nil {
		return Result{}, fmt.Errorf("read routes of %s: %w", w.Name, err)
	}
	d.serving, _ = Serving(existing, routes)
	var res Result
	if c, ok := d.running(req.Digest); ok && req.Digest != "" {
		res, err = d.converge(ctx, c)
		d.closeConverge(ctx, err)
	} else {
		res, err = d.run(ctx)
		if err != nil && !errors.Is(err, ErrFenced) && errors.Is(context.Cause(ctx), ErrLockLost) {
			err = fmt.Errorf("%w: %w", ErrLockLost, err) // say why the step was cancelled
		}
		if !res.Noop {
			d.record(ctx, OutcomeDeployed, res, err)
		}
	}
	res.Epoch = lease.Epoch
	return res, err
}

// running returns the container serving the workload (see Serving) when
// it already runs digest with the current runtime config: deploying again
// would change nothing, whatever tag the digest was pushed under.
func (d *deploy) running(digest string) (Container, bool) {
	c := d.serving
	if c.ID != "" && c.Labels[labels.ManagedDigest] == digest && strings.HasPrefix(c.Labels[labels.ManagedImage], d.w.Image+":") &&
		c.Labels[labels.ManagedConfig] == d.fingerprint {
		return c, true
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
	stepAt      time.Time
	log         zerolog.Logger

	healthy  time.Time     // when the health check passed
	switched time.Duration // health-ok to routes serving the new container
	lease    Lease
	j        Journal
	serving  Container // what served the workload when the lock was granted (see Serving); ID "" when nothing

	inst       Instance // the new container, once created
	routed     bool     // the store's routes point at inst
	proxyDirty bool     // the proxy may point at inst although the store does not
	rolledBack bool     // the watch failed and routes went back
	restarts   int      // restart count of inst when it started
	converged  bool     // the image already runs: no new container, maybe a re-route
}

// step journals that the deploy reached step, together with w, in one
// fenced commit: a deploy whose lease was superseded stops here with
// ErrFenced before touching anything else.
func (d *deploy) step(ctx context.Context, step string, w Writes) error {
	now := d.Now()
	d.j.Step = step
	d.j.Steps = append(d.j.Steps, StepTime{Step: step, At: now.UTC(), Took: now.Sub(d.stepAt)})
	d.stepAt = now
	if err := d.commit(ctx, w); err != nil {
		return fmt.Errorf("journal step %s: %w", step, err)
	}
	d.log.Debug().Str(logkey.Step, step).Msg("step reached")
	if d.AtStep != nil {
		d.AtStep(ctx, step)
	}
	return nil
}

// commit writes w with the current journal under the deploy's lease.
func (d *deploy) commit(ctx context.Context, w Writes) error {
	j := d.j
	j.Steps = slices.Clone(d.j.Steps)
	j.Previous, j.Routes = slices.Clone(d.j.Previous), slices.Clone(d.j.Routes)
	w.Journal = &j
	return d.Coord.Commit(ctx, d.lease, w)
}

func (d *deploy) run(ctx context.Context) (res Result, err error) {
	res = Result{Deploy: d.id, Image: d.ref}
	defer func() {
		switch {
		case d.converged:
			d.closeConverge(ctx, err)
		case err == nil:
			d.finish(ctx)
		case !d.routed:
			d.abandon(ctx, err)
		default:
			// Routes point at the new container but the deploy could not
			// finish (superseded or cancelled): the journal stays open and
			// the next lease holder completes it (see Recover).
			d.log.Warn().Err(err).Msg("deploy interrupted after the switch; left to recovery")
		}
	}()
	if err := d.checkImage(); err != nil {
		return res, err
	}
	if err := d.step(ctx, StepLocked, Writes{}); err != nil {
		return res, err
	}

	digest, err := d.Docker.Pull(ctx, d.pullRef(), d.w.Registry)
	if err != nil {
		return res, err // the Docker adapter names the ref
	}
	if digest == "" {
		digest = d.req.Digest
	}
	res.Digest = digest
	d.j.Digest = digest
	// The pull told us what the tag points at now; a trigger that named no
	// digest may still ask for what already runs.
	if c, ok := d.running(digest); ok && digest != "" {
		d.converged = true
		return d.converge(ctx, c)
	}
	if err := d.step(ctx, StepPulled, Writes{}); err != nil {
		return res, err
	}
	if err := d.Docker.EnsureNetwork(ctx, d.network); err != nil {
		return res, fmt.Errorf("network %s: %w", d.network, err)
	}

	if err := d.startNew(ctx, digest); err != nil {
		return res, err
	}
	res.Container = d.inst.ID
	d.log = d.log.With().Str(logkey.Container, d.inst.Name).Logger()

	if err := d.waitHealthy(ctx, d.inst); err != nil {
		return res, err
	}
	d.healthy = d.Now()
	if err := d.step(ctx, StepHealthy, Writes{}); err != nil {
		return res, err
	}
	if err := d.switchRoutes(ctx); err != nil {
		return res, err
	}
	switched := d.Now()

	if err := d.watch(ctx); err != nil {
		if errors.Is(err, ErrWatchFailed) {
			d.rollBack(ctx)
			res.RolledBack = d.rolledBack
		}
		return res, err
	}
	// The old containers keep running, unrouted, for the drain period
	// (which overlaps the watch), so requests in flight at the switch end.
	if rest := d.Drain - d.Now().Sub(switched); rest > 0 && d.serving.ID != "" {
		if err := sleep(ctx, rest); err != nil {
			return res, err
		}
	}
	if err := d.step(ctx, StepWatched, Writes{}); err != nil {
		return res, err
	}
	res.Removed, err = d.removeSurplus(ctx, d.lease, d.w.Name, d.inst.ID, d.w.Instances(), d.log)
	return res, err
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
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
func (d *deploy) startNew(ctx context.Context, digest string) error {
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
		return err
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
		return fmt.Errorf("create %s: %w", inst.Name, err)
	}
	inst.ID = id
	d.inst = inst
	d.j.Container, d.j.Name = id, inst.Name
	if err := d.step(ctx, StepCreated, Writes{Instances: []Instance{inst}}); err != nil {
		return err
	}
	if err := d.Docker.Start(ctx, id); err != nil {
		return fmt.Errorf("start %s: %w", inst.Name, err)
	}
	c, err := d.Docker.Inspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", inst.Name, err)
	}
	d.inst.State = StateRunning
	d.inst.Address = c.IPs[d.network]
	d.restarts = c.Restarts
	if err := d.publishedPorts(&d.inst, spec, c); err != nil {
		return err
	}
	if err := d.step(ctx, StepStarted, Writes{Instances: []Instance{d.inst}}); err != nil {
		return err
	}
	d.log.Debug().Str(logkey.Container, inst.Name).Str("address", d.inst.Address).Msg("started")
	return nil
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
	url := d.healthURL(inst)
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

// healthURL is where the sidecar probes inst's health path.
func (d *deploy) healthURL(inst Instance) string {
	return "http://" + net.JoinHostPort(inst.Address, strconv.Itoa(d.w.Port)) + d.w.Healthcheck
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

// abandon undoes a deploy that failed before its routes were recorded:
// the new container (found by id and by its deploy label, in case the
// crash-free failure came between create and journal) goes, nothing else
// is touched, and the journal is closed. It runs even when ctx was
// cancelled. A superseded deploy leaves its records and journal to the
// newer lease holder, whose writes it may no longer make.
func (d *deploy) abandon(ctx context.Context, cause error) {
	fenced := errors.Is(cause, ErrFenced) || errors.Is(context.Cause(ctx), ErrLockLost)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if d.proxyDirty {
		d.log.Error().Msg("proxy may still route to the new container: leaving it for recovery")
		return
	}
	ids := map[string]string{}
	if d.inst.ID != "" {
		ids[d.inst.ID] = d.inst.Name
	}
	byDeploy := d.managed(d.w.Name)
	byDeploy[labels.ManagedDeploy] = d.id
	if cs, err := d.Docker.List(ctx, byDeploy); err == nil {
		for _, c := range cs {
			ids[c.ID] = c.Name
		}
	} else {
		d.log.Warn().Err(err).Msg("list containers of the failed deploy")
	}
	// Never remove what the store routes to: a recovery by a newer lease
	// holder may have finished this deploy's switch meanwhile.
	rs, err := d.Store.Routes(ctx, d.w.Name)
	if err != nil {
		d.log.Error().Err(err).Msg("read routes before removing the new container: leaving it for recovery")
		return
	}
	for _, r := range rs {
		delete(ids, r.Container)
	}
	for id, name := range ids {
		if err := d.Docker.Remove(ctx, id); err != nil {
			d.log.Error().Err(err).Str(logkey.Container, name).Msg("remove new container")
		}
	}
	if fenced {
		return
	}
	w := Writes{CloseJournal: d.id}
	if d.inst.ID != "" {
		w.DeleteInstances = []Instance{d.inst}
	}
	if err := d.Coord.Commit(ctx, d.lease, w); err != nil {
		d.log.Error().Err(err).Msg("close journal of the failed deploy (recovery will)")
	}
}

// finish closes the journal of a deploy that completed.
func (d *deploy) finish(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.Coord.Commit(ctx, d.lease, Writes{CloseJournal: d.id}); err != nil {
		d.log.Error().Err(err).Msg("close journal (recovery will)")
	}
}

// record writes the outcome to the workload's history: success,
// "rolled back: <reason>" when the watch failed and the routes went back,
// or "failed: <reason>" when err is set otherwise.
func (d *deploy) record(ctx context.Context, success string, res Result, err error) {
	ev := Event{
		Time:      d.Now().UTC(),
		Deploy:    d.id,
		Outcome:   success,
		Image:     d.ref,
		Digest:    res.Digest,
		Source:    d.req.Source,
		Took:      d.Now().Sub(d.start),
		Tag:       d.tag,
		Started:   d.start.UTC(),
		Epoch:     d.lease.Epoch,
		Owner:     d.Owner,
		Container: d.inst.Name,
		Previous:  d.j.previousContainer(),
		Steps:     d.j.Steps,

		Switched: d.switched,
	}
	logEv := d.log.Info()
	switch {
	case err != nil && d.rolledBack:
		ev.Outcome = OutcomeRolledBack + err.Error()
		logEv = d.log.Warn().Err(err)
	case err != nil:
		ev.Outcome = OutcomeFailed + err.Error()
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
