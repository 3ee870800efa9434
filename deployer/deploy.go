package deployer

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// Deploy runs one blue-green deploy of w under the workload's deploy lock.
// Any failure before the switch removes only the new container; the old
// one keeps serving. Deploying an image the workload already runs is a
// no-op that records nothing in the history. Each step is journaled, so a
// deploy cut short by a crash is finished or undone by the next reconcile
// (see Sync).
func (e *Engine) Deploy(ctx context.Context, w *labels.Workload, req Request) (Result, error) {
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
	if _, err := e.recoverOpen(ctx, lease, w.Name); err != nil {
		return Result{}, fmt.Errorf("recover unfinished deploys of %s: %w", w.Name, err)
	}
	d := e.newDeploy(w, req, network, lease, locked)
	if d.serving, err = e.serving(ctx, w.Name); err != nil {
		return Result{}, err
	}

	res, err := d.run(ctx)
	if err != nil && !errors.Is(err, ErrFenced) && errors.Is(context.Cause(ctx), ErrLockLost) {
		err = fmt.Errorf("%w: %w", ErrLockLost, err) // say why the step was cancelled
	}
	if !res.Noop && !d.j.Recorded {
		d.record(ctx, OutcomeDeployed, res, err)
	}
	if d.draining {
		e.drain(d.j)
	}
	res.Epoch = lease.Epoch
	return res, err
}

// serving is the container serving workload now (see Serving), ID "" when
// none does.
func (e *Engine) serving(ctx context.Context, workload string) (Container, error) {
	cs, err := e.Containers(ctx, workload)
	if err != nil {
		return Container{}, fmt.Errorf("list containers of %s: %w", workload, err)
	}
	routes, err := e.Store.Routes(ctx, workload)
	if err != nil {
		return Container{}, fmt.Errorf("read routes of %s: %w", workload, err)
	}
	c, _ := Serving(cs, routes)
	return c, nil
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
	lease       Lease
	j           Journal
	serving     Container               // what served the workload when the lock was granted; ID "" when nothing
	refused     map[string]HostConflict // faces whose host another workload owns: never routed
	claimed     bool                    // admit claimed the faces' hosts (see releaseFailedClaims)

	healthy  time.Time     // when the health check passed
	switched time.Duration // health-ok to routes serving the new container

	// What the deploy has done so far, for settle.
	created    bool        // Create was called: a new container may exist
	inst       Instance    // the new container once created; for a converge, the running one
	routed     bool        // the store's routes point at inst
	proxyDirty bool        // the proxy may point at inst although the store does not
	rolledBack bool        // the watch failed and routes went back
	restarts   int         // restart count of inst when it started
	watched    string      // how the post-switch watch ended: passed, superseded after …, off
	releaseRun *ReleaseRun // how the release command ended, once it ran
	draining   bool        // the deploy succeeded and handed its drain to the background
	tasks      []TaskAt    // where inst's tasks were when the deploy ended (swarm), for its record
}

// newDeploy is the deploy of w the lease (granted at locked) allows.
func (e *Engine) newDeploy(w *labels.Workload, req Request, network string, lease Lease, locked time.Time) *deploy {
	tag := w.ResolveTag(req.Tag)
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
	return d
}

func newDeployID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return strconv.FormatInt(now.UnixMilli(), 36) + "-" + hex.EncodeToString(b)
}

// run is the deploy, top to bottom. Wherever it stops, settle ends it by
// one rule (see settle).
func (d *deploy) run(ctx context.Context) (res Result, err error) {
	res = Result{Deploy: d.id, Image: d.ref}
	defer func() { d.settle(ctx, err) }()

	if err := d.admit(ctx); err != nil { // key scope and host ownership, before any write
		return res, err
	}
	if err := d.checkImage(); err != nil {
		return res, err
	}
	if err := d.checkPlacement(); err != nil {
		return res, err
	}
	// The network is made sure of while the journal and the pull run.
	network := d.ensureNetwork(ctx)
	defer func() { _ = network() }() // the goroutine ends with the deploy
	if err := d.step(ctx, StepLocked, Writes{}); err != nil {
		return res, err
	}

	// Already running? Decided once, as soon as the digest is known: a
	// trigger names it, a tag tells it only once pulled. Either way the
	// answer holds whatever tag the digest was pushed under.
	digest, pulled := d.req.Digest, false
	if digest == "" {
		if digest, err = d.pull(ctx); err != nil {
			return res, err
		}
		pulled = true
	}
	if c, ok := d.running(digest); ok {
		return d.converge(ctx, c)
	}
	if !pulled {
		if _, err := d.pull(ctx); err != nil {
			return res, err
		}
	}
	res.Digest, d.j.Digest = digest, digest
	if err := d.step(ctx, StepPulled, Writes{}); err != nil {
		return res, err
	}

	if err := network(); err != nil {
		return res, fmt.Errorf("network %s: %w", d.network, err)
	}
	if err := d.release(ctx); err != nil {
		return res, err
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
	watched := "passed"
	if err := d.watch(ctx); err != nil {
		switch {
		case errors.Is(err, errSuperseded):
			watched = "superseded after " + d.Now().Sub(switched).Round(time.Millisecond).String()
		case errors.Is(err, ErrWatchFailed):
			d.switchBack(ctx)
			res.RolledBack = d.rolledBack
			return res, err
		default:
			return res, err
		}
	}
	if d.Watch <= 0 {
		watched = "off"
	}
	d.watched = watched
	// The deploy succeeded: it is recorded now, and the containers it
	// replaced are retired in the background (see drain.go), so the next
	// deploy of the workload never waits for them. The old container keeps
	// running, unrouted, until the drain time after the switch, so
	// requests in flight at the switch end; the journal keeps the work
	// until it is done, across a crash.
	d.j.RetireAt = switched.UTC()
	if d.serving.ID != "" {
		d.j.RetireAt = switched.Add(d.Drain).UTC()
	}
	d.noteTasks(ctx)
	d.record(ctx, OutcomeDeployed, res, nil)
	d.j.Recorded = true
	if err := d.step(ctx, StepWatched, Writes{}); err != nil {
		return res, err
	}
	d.draining = true
	return res, nil
}

// ensureNetwork starts EnsureNetwork of the deploy's network and returns
// a function that waits for its answer (the same on every call).
func (d *deploy) ensureNetwork(ctx context.Context) func() error {
	done := make(chan error, 1)
	go func() { done <- d.Docker.EnsureNetwork(ctx, d.network) }()
	return sync.OnceValue(func() error { return <-done })
}

// pull pulls what the deploy runs (see pullRef) with the workload's
// registry credentials, and returns the digest it resolved to.
func (d *deploy) pull(ctx context.Context) (string, error) {
	if err := d.checkRegistryScope(ctx); err != nil {
		return "", err
	}
	return d.Docker.Pull(ctx, d.pullRef(), d.w.Registry) // the Docker adapter names the ref in errors
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

// running returns the container serving the workload (see Serving) when
// it already runs digest with the current runtime config: deploying again
// would change nothing. An unknown digest ("") never runs.
func (d *deploy) running(digest string) (Container, bool) {
	c := d.serving
	if digest != "" && c.ID != "" && c.Labels[labels.ManagedDigest] == digest &&
		strings.HasPrefix(c.Labels[labels.ManagedImage], d.w.Image+":") && c.Labels[labels.ManagedConfig] == d.fingerprint {
		return c, true
	}
	return Container{}, false
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
