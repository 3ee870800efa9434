package deployer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// Config wires an Engine to its collaborators and global settings.
type Config struct {
	Docker Docker
	Proxy  Proxy
	Store  Store
	Health HealthChecker // default: HTTPHealth{}

	Network string // Docker network new containers join (required)
	Domain  string // default domain of faces

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
	return &Engine{Config: cfg}
}

// Result describes one finished deploy.
type Result struct {
	Deploy    string
	Noop      bool // the workload already ran this image: nothing was done
	Container string
	Image     string
	Digest    string
	Removed   []string // surplus containers removed
}

// managedBy is the label filter that selects a workload's containers.
func managedBy(workload string) map[string]string {
	return map[string]string{labels.Managed: "true", labels.ManagedWorkload: workload}
}

// Deploy runs one blue-green deploy of w. Any failure before the switch
// removes only the new container; the old one keeps serving. Deploying an
// image the workload already runs is a no-op that records nothing.
func (e *Engine) Deploy(ctx context.Context, w *labels.Workload, req Request) (Result, error) {
	tag := w.ResolveTag(req.Tag)
	ref := w.Image + ":" + tag
	if e.Network == "" {
		return Result{}, ErrNoNetwork
	}
	existing, err := e.Docker.List(ctx, managedBy(w.Name))
	if err != nil {
		return Result{}, fmt.Errorf("list containers of %s: %w", w.Name, err)
	}
	routes, err := e.Store.Routes(ctx, w.Name)
	if err != nil {
		return Result{}, fmt.Errorf("read routes of %s: %w", w.Name, err)
	}
	existing = Serving(existing, routes, HasFaces(w))
	if req.Digest != "" {
		if c, ok := runningImage(existing, ref, req.Digest); ok {
			return Result{Noop: true, Container: c.ID, Image: ref, Digest: req.Digest}, nil
		}
	}

	d := &deploy{
		Engine: e, w: w, req: req, tag: tag, ref: ref,
		id:    newDeployID(e.Now()),
		start: e.Now(),
	}
	d.log = e.Log.With().Str(logkey.Workload, w.Name).Str(logkey.Deploy, d.id).Str(logkey.Image, ref).Logger()
	res, err := d.run(ctx, existing)
	if !res.Noop {
		d.record(ctx, res, err)
	}
	return res, err
}

// runningImage finds a running container of the workload that already runs
// ref at digest ("" matches any digest).
func runningImage(cs []Container, ref, digest string) (Container, bool) {
	for _, c := range cs {
		if !c.Running || c.Labels[labels.ManagedImage] != ref {
			continue
		}
		if digest == "" || c.Labels[labels.ManagedDigest] == digest {
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
	w     *labels.Workload
	req   Request
	tag   string
	ref   string
	id    string
	start time.Time
	log   zerolog.Logger
}

func (d *deploy) run(ctx context.Context, existing []Container) (Result, error) {
	res := Result{Deploy: d.id, Image: d.ref}

	digest, err := d.Docker.Pull(ctx, d.ref)
	if err != nil {
		return res, fmt.Errorf("pull %s: %w", d.ref, err)
	}
	res.Digest = digest
	// The pull told us what the tag points at now; a trigger that named no
	// digest (or an older one) may still ask for what already runs.
	if c, ok := runningImage(existing, d.ref, digest); ok && digest != "" {
		res.Noop, res.Container = true, c.ID
		return res, nil
	}
	if err := d.Docker.EnsureNetwork(ctx, d.Network); err != nil {
		return res, fmt.Errorf("network %s: %w", d.Network, err)
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
	if err := d.switchRoutes(ctx, &inst); err != nil {
		d.removeNew(ctx, inst)
		return res, err
	}
	res.Removed = d.removeSurplus(ctx, inst.ID)
	return res, nil
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
		Created:  now.UTC(),
	}
	spec := ContainerSpec{
		Name:    inst.Name,
		Image:   d.ref,
		Env:     envList(d.w.Env),
		Port:    d.w.Port,
		Network: d.Network,
		Labels: withLabels(d.Labels, map[string]string{
			labels.Managed:         "true",
			labels.ManagedWorkload: d.w.Name,
			labels.ManagedTag:      d.tag,
			labels.ManagedImage:    d.ref,
			labels.ManagedDigest:   digest,
			labels.ManagedDeploy:   d.id,
			labels.ManagedPort:     strconv.Itoa(d.w.Port),
		}),
	}
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
	inst.Address = c.IPs[d.Network]
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
		return fmt.Errorf("health check %s: no address on network %s", inst.Name, d.Network)
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

// record writes the outcome to the workload's history.
func (d *deploy) record(ctx context.Context, res Result, err error) {
	ev := Event{
		Time:    d.Now().UTC(),
		Deploy:  d.id,
		Outcome: "deployed",
		Image:   d.ref,
		Digest:  res.Digest,
		Source:  d.req.Source,
		Took:    d.Now().Sub(d.start),
	}
	logEv := d.log.Info()
	if err != nil {
		ev.Outcome = "failed: " + err.Error()
		logEv = d.log.Error().Err(err)
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
