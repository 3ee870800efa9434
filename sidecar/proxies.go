package sidecar

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/proxyplug"
	"github.com/tinyforge/tinyforge/proxyplug/caddy"
	"github.com/tinyforge/tinyforge/proxyplug/npm"
	"github.com/tinyforge/tinyforge/proxyplug/traefikkv"
	"github.com/tinyforge/tinyforge/proxyplug/traefiklabels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// proxyRunner is a plugin with a loop of its own, run for the life of the
// sidecar (traefik-kv re-asserting its keys after Redis restarts).
type proxyRunner interface {
	Run(ctx context.Context) error
}

// newProxy builds the proxy plugin named by --proxy. The returned func
// releases what the plugin holds (a separate Redis client).
func newProxy(ctx context.Context, cfg Config, store *redisstore.Store, log zerolog.Logger) (deployer.Proxy, func(), error) {
	p := cfg.Proxies
	noop := func() {}
	log = log.With().Str(logkey.Component, "proxy").Logger()
	switch cfg.Proxy {
	case "caddy":
		return caddy.New(caddy.Options{
			AdminURL:  cfg.CaddyAdmin,
			Server:    cfg.CaddyServer,
			Listen:    strings.Split(cfg.CaddyListen, ","),
			TLSListen: strings.Split(cfg.Edge.CaddyTLSListen, ","),
			HTTPSPort: cfg.Edge.CaddyHTTPSPort,
			TLSIssuer: cfg.Edge.CaddyTLS,
			Hooks:     caddyHooks(cfg, log),
			ProbeURL:  p.CaddyProbe,
		}), noop, nil
	case "traefik-kv":
		client, release := store.Client(), noop
		if p.TraefikRedisURL != "" {
			opts, err := redis.ParseURL(p.TraefikRedisURL)
			if err != nil {
				return nil, nil, fmt.Errorf("--traefik-redis-url: %w", err)
			}
			c := redis.NewClient(opts)
			if err := c.Ping(ctx).Err(); err != nil {
				_ = c.Close()
				return nil, nil, fmt.Errorf("traefik redis %s: %w", opts.Addr, err)
			}
			client, release = c, func() { _ = c.Close() }
		}
		plugin, err := traefikkv.New(traefikkv.Options{
			Client: client, Root: p.TraefikRoot, Prefix: cfg.RedisPrefix,
			EntryPoints: p.entryPoints(), CertResolver: p.TraefikResolver, API: p.TraefikAPI, Log: log,
		})
		if err != nil {
			release()
			return nil, nil, err
		}
		return plugin, release, nil
	case "traefik-labels":
		if p.TraefikAPI == "" && cfg.Drain < p.TraefikSettle {
			log.Warn().Dur("drain", cfg.Drain).Dur("traefik_settle", p.TraefikSettle).
				Msg("traefik-labels: --drain shorter than Traefik needs to drop the old container; expect 502s at each switch")
		}
		return traefiklabels.New(traefiklabels.Options{
			Network: cfg.Network, EntryPoints: p.entryPoints(), CertResolver: p.TraefikResolver,
			RetryAttempts: p.TraefikRetry, API: p.TraefikAPI, Settle: p.TraefikSettle,
		}), noop, nil
	case "npm":
		acls, err := p.allowedACLs()
		if err != nil {
			return nil, nil, err
		}
		plugin, err := npm.New(npm.Options{
			URL: p.NPMURL, Identity: p.NPMIdentity, Secret: p.NPMSecret,
			CertificateID: p.NPMCertID, AccessListID: p.NPMAccessList, AllowedAccessLists: acls,
		})
		return plugin, noop, err
	case "none":
		return proxyplug.None{}, noop, nil
	}
	return nil, nil, fmt.Errorf("unknown proxy %q", cfg.Proxy)
}

// caddyHooks is the hooks route of --hooks-host, nil without it.
func caddyHooks(cfg Config, log zerolog.Logger) *caddy.Hooks {
	if cfg.Edge.HooksHost == "" {
		return nil
	}
	return &caddy.Hooks{
		Host: cfg.Edge.HooksHost, Upstream: cfg.Edge.HooksUpstream,
		OnError: func(err error) { log.Warn().Err(err).Msg("hooks route not in place; retrying") },
	}
}

// publishHost is where routes dial published ports ("" = not published).
func publishHost(cfg Config) string {
	if cfg.Proxy == "npm" && cfg.Proxies.NPMRemote {
		return cfg.Proxies.ServerIP
	}
	return ""
}

// upstreamByName is --upstream-by-name, except for traefik-labels: Traefik's
// Docker provider dials containers by IP, and Verify matches that address.
// On a swarm it is always on: the service name resolves to every task
// (DNS round-robin), where an address would be one task's.
func upstreamByName(cfg Config) bool {
	return cfg.Engine == EngineSwarm || cfg.UpstreamByName && cfg.Proxy != "traefik-labels"
}
