// Package sidecar is the composition root of the tinyforge daemon: it
// parses the config, connects Docker and Redis, builds the proxy plugin,
// the deployer, the controller watcher (controllers) and the webhook intake
// (intake) with their dependencies made explicit, runs each queued request
// (runDeploy), serves the management API (status, deploys, rollback,
// events, teardown, logs, the deploy stream) and the status page (ui) next
// to the intake's routes, and runs the watch,
// reconcile and inbox loops until shutdown.
//
// Decisions live in the packages it wires; what is here is wiring, flag
// parsing and thin HTTP handlers. Only cmd imports it: client and admin
// must not, and nothing it wires may import it back.
package sidecar

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/controllers"
	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/deploystream"
	"github.com/tinyforge/tinyforge/dnsplug"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/intake"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/metrics"
	"github.com/tinyforge/tinyforge/notify"
	"github.com/tinyforge/tinyforge/poller"
	"github.com/tinyforge/tinyforge/redisstore"
	"github.com/tinyforge/tinyforge/secrets"
	"github.com/tinyforge/tinyforge/swarmhost"
)

// Sidecar is one running daemon.
type Sidecar struct {
	cfg         Config
	log         zerolog.Logger
	docker      *dockerhost.Host
	swarm       *swarmhost.Host // nil unless --engine swarm
	store       *redisstore.Store
	engine      *deployer.Engine
	queue       *deployer.Queue
	controllers *controllers.Watcher
	orphans     controllers.Orphans
	kicks       chan struct{} // asks the reconcile loop for a pass

	mu           sync.Mutex
	orphanStatus map[string]controllers.OrphanStatus

	proxy      deployer.Proxy
	closeProxy func()
	intake     *intake.Intake
	dns        *dnsplug.Keeper // nil without DNS

	metrics  *metrics.Metrics
	notifier *notify.Notifier
	obs      *observer
	state    stateWatch // of the reconcile loop, for observeState
	stream   *deploystream.Hub

	vault       *secrets.Vault
	poller      *poller.Poller
	servingTags sync.Map // workload -> tag serving as last seen (servingNow)
}

// The composition root wires these implementations into the consumers'
// interfaces.
var (
	_ intake.Store    = (*redisstore.Store)(nil)
	_ intake.Declared = (*controllers.Watcher)(nil)
)

// New connects to Docker and Redis and wires the components.
func New(ctx context.Context, cfg Config, log zerolog.Logger) (*Sidecar, error) {
	version, commit := buildInfo()
	m := metrics.New(metrics.Options{Version: version, Commit: commit, Sources: intake.Sources, Runtime: true,
		Swarm: cfg.Engine == EngineSwarm})
	notifier, err := notify.New(cfg.Notify, notify.Options{Report: m.NotificationSent, Log: log})
	if err != nil {
		return nil, err
	}
	docker, err := dockerhost.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	docker.NetworkLabels = maps.Clone(cfg.Labels)
	if cfg.Scope != "" {
		docker.NetworkLabels[labels.Scope] = cfg.Scope
	}
	store, err := redisstore.Open(ctx, cfg.RedisURL, cfg.RedisPrefix)
	if err != nil {
		return nil, err
	}
	vault := &secrets.Vault{Store: store, Keys: cfg.Keys}
	docker.PullAuth, docker.Images, docker.BindRoots = pullAuth(vault), cfg.Images, cfg.VolumePaths
	proxy, closeProxy, err := newProxy(ctx, cfg, store, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	var sw *swarmhost.Host
	if cfg.Engine == EngineSwarm {
		if sw, err = newSwarm(ctx, cfg, docker); err != nil {
			closeProxy()
			store.Close()
			return nil, err
		}
	}
	s := &Sidecar{cfg: cfg, log: log, docker: docker, swarm: sw, store: store, proxy: proxy, closeProxy: closeProxy, kicks: make(chan struct{}, 1), vault: vault}
	identity := identitySigner(cfg.Keys)
	logTrust(cfg, identity, log)
	var names deployer.Names // nil interface, not a nil *Keeper, without DNS
	if s.dns, err = newNames(cfg, log); err != nil {
		closeProxy()
		store.Close()
		return nil, err
	} else if s.dns != nil {
		names = s.dns
	}
	s.observe(m, notifier)
	s.engine, err = deployer.New(deployer.Config{
		Docker:         engineDocker(sw, docker),
		Proxy:          proxy,
		Store:          store,
		Coord:          store,
		Network:        cfg.Network,
		Domain:         cfg.Domain,
		Volumes:        deployer.VolumePolicy{BaseVolumePath: cfg.BaseVolumePath, AllowedPaths: cfg.VolumePaths.Roots(), AllowedNamedVolumes: splitList(cfg.AllowedNamedVolumes)},
		Drain:          cfg.Drain,
		StopGrace:      cfg.StopGrace,
		UpstreamByName: upstreamByName(cfg),
		Labels:         cfg.Labels,
		Scope:          cfg.Scope,
		VerifyTimeout:  cfg.Proxies.VerifyTimeout,
		PublishHost:    publishHost(cfg),
		PublishBind:    cfg.Proxies.PublishIP,
		Log:            log.With().Str(logkey.Component, "deployer").Logger(),

		Images:        cfg.Images,
		Limits:        cfg.Limits,
		EnvOverrides:  vault,
		Registries:    vault,
		Identity:      identity,
		Hosts:         store,
		ReservedHosts: reservedHosts(cfg),
		Owner:         cfg.InstanceID,
		LockTTL:       cfg.LockTTL,
		Watch:         cfg.Watch,
		Names:         names,
		AtStep:        testPauseHook(osGetenv, log.With().Str(logkey.Component, "test-hook").Logger()),
		OnFinished:    s.deployFinished,
		OnDrained:     s.obs.Drained,
	})
	if err != nil {
		closeProxy()
		store.Close()
		return nil, err
	}
	s.wireStream()
	s.queue = deployer.NewQueue(s.runDeploy)
	s.controllers = controllers.NewWatcher(docker, cfg.Scope, log.With().Str(logkey.Component, "controllers").Logger())
	if sw != nil { // stacks declare workloads in their services' labels
		s.controllers.Services, s.controllers.ServiceEvents = sw, docker.ServiceEvents()
	}
	s.controllers.OnChange = s.converge
	// The inbox consumer is the queue's only client: every operation
	// (delivery, rollback, teardown, converge) is stored before it runs.
	s.intake = intake.New(s.intakeConfig(), store, s.controllers, s.queue.Submit, log)
	s.controllers.Admit = cfg.Edge.admit
	if cfg.ControllerKeys.Enabled() {
		s.controllers.Verify = cfg.ControllerKeys.Verify
	}
	s.poller = s.newPoller()
	return s, nil
}

// intakeConfig is the part of the config the webhook intake reads.
func intakeConfig(cfg Config) intake.Config {
	return intake.Config{Hooks: cfg.Hooks, WebhookToken: cfg.WebhookToken, APIToken: cfg.APIToken, Consumer: cfg.InstanceID,
		Images: cfg.Images}
}

// intakeConfig is the intake's config with the sidecar's observer.
func (s *Sidecar) intakeConfig() intake.Config {
	c := intakeConfig(s.cfg)
	c.Observer, c.ServingTag = s.obs, s.servingTag
	if s.vault != nil {
		c.Credentials = registryLogin(s.vault)
	}
	return c
}

// runDeploy executes one queued operation against the workload's current
// config, then acknowledges the inbox entries it covers (and those of the
// operations it superseded).
func (s *Sidecar) runDeploy(ctx context.Context, req deployer.Request) {
	keep := false // true: leave the inbox entries for the next start
	defer func() {
		if !keep {
			s.intake.Done(ctx, req)
		}
	}()
	log := s.log.With().Str(logkey.Workload, req.Workload).Str("kind", string(req.Kind)).Str(logkey.Tag, req.Tag).
		Str(logkey.Source, req.Source).Logger()
	if req.Kind == deployer.KindTeardown {
		if s.controllers.Declares(req.Workload) {
			log.Warn().Msg("teardown skipped: the workload is declared again (or in conflict between controllers)")
			return
		}
		_, _ = s.engine.Teardown(ctx, req.Workload) // logs and records itself
		return
	}
	w := s.controllers.Workload(req.Workload)
	if w == nil {
		log.Error().Err(deployer.ErrUnknownWorkload).Msg("deploy dropped")
		return
	}
	if req.Kind == deployer.KindConverge {
		// What serves now, after whatever ran before this converge.
		c, ok := s.convergeTarget(ctx, log, w)
		if !ok {
			return
		}
		req.Tag, req.Digest = c.Labels[labels.ManagedTag], c.Labels[labels.ManagedDigest]
	}
	if req.Kind == deployer.KindDeliver || req.Kind == "" {
		// The tag policy against what serves now, not when it was pushed.
		serving := ""
		if p, err := w.TagPolicy(); err == nil && p.Versioned() {
			c, _, err := s.servingNow(ctx, w.Name)
			if err != nil {
				log.Warn().Err(err).Msg("what serves cannot be read now: the policy compares with the last seen")
			}
			serving = c.Labels[labels.ManagedTag]
			if err != nil {
				serving = s.servingTag(w.Name)
			}
		}
		var ok bool
		if req, ok = s.intake.Admit(ctx, log, w, req, serving); !ok {
			return
		}
	}
	req, ok := s.intake.Prepare(ctx, log, w, req)
	if !ok {
		return
	}
	if held, err := s.intake.Hold(ctx, log, w, req); err != nil {
		log.Error().Err(err).Msg("delivery not held for approval (redis): it waits for the next start")
		keep = true
		return
	} else if held {
		return
	}
	res, err := s.engine.Deploy(ctx, w, req)
	if err == nil && res.Noop && !res.Rerouted {
		if req.Kind == deployer.KindConverge { // nothing to change
			log.Debug().Str(logkey.Image, res.Image).Msg("labels changed nothing the container runs")
			return
		}
		s.intake.RecordOutcome(ctx, w, req, res.Image, res.Digest, intake.OutcomeDuplicate+": "+res.Image+" already serves")
	}
}

// Run serves until ctx ends, then shuts down: the HTTP server stops taking
// requests, queued deploys are dropped and a deploy in flight gets
// ShutdownGrace to finish before it is cancelled at its next step.
func (s *Sidecar) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	srv.RegisterOnShutdown(s.stream.Close) // open streams end, so Shutdown need not wait for them
	s.log.Info().Str("listen", ln.Addr().String()).Str("proxy", s.cfg.Proxy).Str("network", s.cfg.Network).Msg("sidecar started")

	loopCtx, stopLoops := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.controllers.Run(loopCtx) })
	wg.Go(func() { s.reconcileLoop(loopCtx) })
	if s.dns != nil {
		wg.Go(func() { s.dns.Run(loopCtx) })
	}
	if r, ok := s.proxy.(proxyRunner); ok {
		wg.Go(func() { _ = r.Run(loopCtx) })
	}
	wg.Go(func() { s.intake.Run(loopCtx, s.controllers.Refresh) })
	wg.Go(func() { s.poller.Run(loopCtx) })
	wg.Go(func() { s.expireLoop(loopCtx) })
	wg.Go(func() {
		w := managedWatch(s.docker, s.kick, s.log.With().Str(logkey.Component, "events").Logger())
		w.OnReconnect = s.metrics.DockerEventsReconnect
		w.Run(loopCtx)
	})
	if s.swarm != nil {
		wg.Go(func() {
			w := managedServiceWatch(s.docker.ServiceEvents(), s.kick, s.log.With().Str(logkey.Component, "service-events").Logger())
			w.OnReconnect = s.metrics.DockerEventsReconnect
			w.Run(loopCtx)
		})
	}
	// Notifications outlive the loops: the deploys finishing during the
	// shutdown grace still report, and Close makes a last attempt.
	notified := make(chan struct{})
	go func() { defer close(notified); _ = s.notifier.Run(context.WithoutCancel(ctx)) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	s.log.Info().Msg("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	s.queue.Close(s.cfg.ShutdownGrace)
	s.engine.Close() // drains cut short keep their journals; the next start finishes them
	stopLoops()
	wg.Wait()
	s.notifier.Close()
	<-notified
	s.closeProxy()
	s.store.Close()
	if s.swarm != nil {
		_ = s.swarm.Close()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
