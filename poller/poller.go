package poller

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// Registry is what a poll asks a registry (registryapi.Resolver).
type Registry interface {
	Digest(ctx context.Context, image, tag string) (string, error)
	Tags(ctx context.Context, image string) ([]string, error)
}

// Config is what the composition root gives the poller.
type Config struct {
	// Workloads returns the declared workloads (controllers).
	Workloads func() map[string]*labels.Workload
	// Serving returns the tag and digest serving a workload ("" when
	// nothing does).
	Serving func(ctx context.Context, workload string) (tag, digest string, err error)
	// Registry is the registry client of a workload, with its credentials.
	Registry func(w *labels.Workload) Registry
	// Submit stores a delivery of tag at digest in the durable inbox.
	Submit func(ctx context.Context, w *labels.Workload, tag, digest string) (duplicate bool, err error)
	// Allow is --allowed-images, asked before any request for an image.
	Allow func(ref string) error
	// Every overrides every workload's poll interval when positive: for
	// tests only (TINYFORGE_TEST_POLL_INTERVAL), since the poll label is
	// at least labels.MinPoll.
	Every time.Duration
	// Resync is how often the declared workloads are read again for label
	// changes besides Refresh (default 5 s).
	Resync time.Duration
	Log    zerolog.Logger
}

// Poller runs one polling goroutine per workload with a poll label.
type Poller struct {
	cfg     Config
	refresh chan struct{}

	mu      sync.Mutex
	status  map[string]Status
	workers map[string]*worker
}

// worker is one workload's polling goroutine.
type worker struct {
	key    string // the labels it polls with; a change restarts it
	cancel context.CancelFunc
	done   chan struct{}
}

// New builds a poller; Run starts it.
func New(cfg Config) *Poller {
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Second
	}
	cfg.Log = cfg.Log.With().Str(logkey.Component, "poller").Logger()
	return &Poller{cfg: cfg, refresh: make(chan struct{}, 1), status: map[string]Status{}, workers: map[string]*worker{}}
}

// Refresh asks Run to read the declared workloads again now (labels
// changed). It never blocks.
func (p *Poller) Refresh() {
	select {
	case p.refresh <- struct{}{}:
	default:
	}
}

// Status is the poll state of workload; ok is false when it is not
// polled.
func (p *Poller) Status(workload string) (Status, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.status[workload]
	return st, ok
}

// Run keeps one goroutine per polled workload until ctx ends, then stops
// them all and returns once they ended.
func (p *Poller) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.Resync)
	defer t.Stop()
	defer p.sync(ctx, nil)
	for {
		p.sync(ctx, p.cfg.Workloads())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.refresh:
		}
	}
}

// sync starts a worker for every workload in ws that polls, restarts
// those whose poll labels changed and stops the others.
func (p *Poller) sync(ctx context.Context, ws map[string]*labels.Workload) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, wk := range p.workers {
		w := ws[name]
		if w != nil && p.every(w) > 0 && key(w, p.every(w)) == wk.key && ctx.Err() == nil {
			continue
		}
		wk.cancel()
		p.mu.Unlock()
		<-wk.done
		p.mu.Lock()
		delete(p.workers, name)
		delete(p.status, name)
	}
	if ctx.Err() != nil {
		return
	}
	for name, w := range ws {
		every := p.every(w)
		if every <= 0 || p.workers[name] != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		wk := &worker{key: key(w, every), cancel: cancel, done: make(chan struct{})}
		p.workers[name] = wk
		p.status[name] = Status{Every: every}
		go func() {
			defer close(wk.done)
			p.poll(wctx, w, every)
		}()
	}
}

// every is w's poll interval (0: not polled), or the test override.
func (p *Poller) every(w *labels.Workload) time.Duration {
	if w.PollEvery() > 0 && p.cfg.Every > 0 {
		return p.cfg.Every
	}
	return w.PollEvery()
}

// key is what a worker polls with: a change of any of it restarts it.
func key(w *labels.Workload, every time.Duration) string {
	return fmt.Sprintf("%s|%s|%s|%s|%v|%s|%s", w.Image, w.Registry, w.DefaultTag, w.Policy, w.Prerelease, w.Tags, every)
}

// update changes workload's status under the lock.
func (p *Poller) update(workload string, f func(*Status)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.status[workload]
	if !ok {
		return // stopped meanwhile
	}
	f(&st)
	p.status[workload] = st
}

// Statuses returns the status of every polled workload.
func (p *Poller) Statuses() map[string]Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.status)
}

// jitter is a random fraction in [0, 1).
var jitter = rand.Float64
