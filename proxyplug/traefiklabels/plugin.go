// Package traefiklabels is the deployer.Proxy for a Traefik that reads
// Docker labels (its Docker provider). Routes are not written anywhere:
// every new container is created with the router and service labels of
// its workload's faces, named after workload and face and identical on
// blue and green, so Traefik merges both containers into one service
// (were they to differ, Traefik would drop the router altogether).
//
// Traefik adds a container to the service once it runs (and, when it has
// a HEALTHCHECK, is healthy), after its provider throttle (2 s by
// default). Verify waits for that: through Traefik's API when one is
// configured, otherwise for a fixed settle time. The old container stays
// in the service until Docker reports it stopped, so the deployer's drain
// must exceed Traefik's throttle (see the README).
package traefiklabels

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug"
	"github.com/tinyforge/tinyforge/proxyplug/traefikapi"
	"github.com/tinyforge/tinyforge/proxyplug/traefikkv"
)

// Options configure the plugin.
type Options struct {
	// Network is the Docker network Traefik reaches containers on
	// (traefik.docker.network); the sidecar's --network.
	Network string
	// EntryPoints of every router. Default ["web"].
	EntryPoints []string
	// CertResolver, when set, turns TLS on for every router with it.
	CertResolver string
	// RetryAttempts, when > 0, puts a retry middleware in front of each
	// router: a request Traefik sends to a container that is going away
	// (connection refused) is retried on another server instead of
	// answering 502.
	RetryAttempts int
	// API is Traefik's API base URL (e.g. http://traefik:8080), optional.
	API string
	// Settle is how long Verify waits for Traefik to pick a new container
	// up when no API is configured. Default 3s (Traefik's 2 s throttle plus
	// the Docker event's way there).
	Settle time.Duration
	// HTTPClient talks to Traefik's API. Default: a 5s timeout.
	HTTPClient *http.Client
}

// Plugin routes through container labels.
type Plugin struct {
	opts Options

	mu      sync.Mutex
	settled map[string]time.Time // container id -> when Verify may pass
}

var (
	_ deployer.Proxy            = (*Plugin)(nil)
	_ deployer.ContainerLabeler = (*Plugin)(nil)
	_ deployer.Verifier         = (*Plugin)(nil)
)

// New returns a plugin.
func New(opts Options) *Plugin {
	if len(opts.EntryPoints) == 0 {
		opts.EntryPoints = []string{"web"}
	}
	if opts.Settle <= 0 {
		opts.Settle = 3 * time.Second
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	return &Plugin{opts: opts, settled: map[string]time.Time{}}
}

// ContainerLabels returns Traefik's labels for routes. They depend only on
// the routes' names, hosts, ports and the plugin's options, never on the
// container.
func (p *Plugin) ContainerLabels(routes []deployer.Route) map[string]string {
	if len(routes) == 0 {
		return nil
	}
	out := map[string]string{"traefik.enable": "true"}
	if p.opts.Network != "" {
		out["traefik.docker.network"] = p.opts.Network
	}
	for _, r := range routes {
		name := traefikkv.Name(r)
		router := "traefik.http.routers." + name
		out[router+".rule"] = "Host(`" + r.Host + "`)"
		out[router+".entrypoints"] = strings.Join(p.opts.EntryPoints, ",")
		out[router+".service"] = name
		if r.TLS || p.opts.CertResolver != "" {
			out[router+".tls"] = "true"
			if p.opts.CertResolver != "" {
				out[router+".tls.certresolver"] = p.opts.CertResolver
			}
		}
		if p.opts.RetryAttempts > 0 {
			out["traefik.http.middlewares."+name+"-retry.retry.attempts"] = strconv.Itoa(p.opts.RetryAttempts)
			out[router+".middlewares"] = name + "-retry"
		}
		out["traefik.http.services."+name+".loadbalancer.server.port"] = strconv.Itoa(r.Port)
	}
	return out
}

// Upsert does nothing: the route lives in the labels of the container.
func (p *Plugin) Upsert(context.Context, deployer.Route) error { return nil }

// Delete does nothing: the route leaves with the container's labels.
func (p *Plugin) Delete(context.Context, deployer.Route) error { return nil }

// Verify waits until Traefik balances r to the new container: with an API,
// until the service lists http://<r.Upstream>; without, until Settle has
// passed since the first Verify for that container.
func (p *Plugin) Verify(ctx context.Context, r deployer.Route) error {
	if p.opts.API == "" {
		return p.settle(ctx, r.Container)
	}
	err := proxyplug.Poll(ctx, 100*time.Millisecond, func(ctx context.Context) error { return p.check(ctx, r) })
	if err != nil {
		return fmt.Errorf("traefik-labels: route %s: %w", traefikkv.Name(r), err)
	}
	return nil
}

func (p *Plugin) settle(ctx context.Context, container string) error {
	now := time.Now()
	p.mu.Lock()
	for id, at := range p.settled {
		if now.Sub(at) > time.Hour {
			delete(p.settled, id)
		}
	}
	at, ok := p.settled[container]
	if !ok {
		at = now.Add(p.opts.Settle)
		p.settled[container] = at
	}
	p.mu.Unlock()
	select {
	case <-ctx.Done():
		return fmt.Errorf("traefik-labels: settle time %s longer than the verify timeout: %w", p.opts.Settle, ctx.Err())
	case <-time.After(time.Until(at)):
		return nil
	}
}

// check asks Traefik's API whether it balances r's service to r's upstream.
func (p *Plugin) check(ctx context.Context, r deployer.Route) error {
	api := traefikapi.Client{Base: p.opts.API, HTTP: p.opts.HTTPClient}
	return api.CheckBalances(ctx, traefikkv.Name(r)+"@docker", r.Upstream)
}
