package traefikkv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug"
)

// Options configure the plugin.
type Options struct {
	// Client is the Redis Traefik reads, often the sidecar's own.
	Client redis.UniversalClient
	// Root is Traefik's rootKey. Default "traefik".
	Root string
	// Prefix starts the key of the plugin's ownership record; it must lie
	// outside Root. Default "tinyforge:".
	Prefix string
	// EntryPoints of every router. Default ["web"].
	EntryPoints []string
	// CertResolver, when set, turns TLS on for every router with that
	// certificate resolver.
	CertResolver string
	// API is Traefik's API base URL (e.g. http://traefik:8080), optional:
	// when set, Verify also waits until Traefik itself runs the route.
	API string
	// CheckEvery is how often Run checks that Redis still holds the owned
	// keys. Default 1s.
	CheckEvery time.Duration
	// HTTPClient talks to Traefik's API. Default: a 5s timeout.
	HTTPClient *http.Client
	Log        zerolog.Logger
}

// Plugin writes the routers and services of the sidecar's routes into
// Traefik's Redis KV tree.
type Plugin struct {
	opts Options
	s    settings
	rdb  redis.UniversalClient
	http *http.Client

	// mu serialises writes, so the in-memory view and Redis change together.
	mu sync.Mutex
	// owned is the desired route of every router the plugin owns, by name:
	// what Resync re-asserts after Redis lost it.
	owned map[string]deployer.Route
}

var (
	_ deployer.Proxy    = (*Plugin)(nil)
	_ deployer.Verifier = (*Plugin)(nil)
)

// New returns a plugin on opts.Client. It does not contact Redis: Run (or
// the first write) does.
func New(opts Options) (*Plugin, error) {
	if opts.Client == nil {
		return nil, errors.New("traefik-kv: no Redis client")
	}
	if opts.Root == "" {
		opts.Root = "traefik"
	}
	opts.Root = strings.TrimRight(opts.Root, "/")
	if opts.Prefix == "" {
		opts.Prefix = "tinyforge:"
	}
	if strings.HasPrefix(opts.Prefix, opts.Root) {
		return nil, fmt.Errorf("traefik-kv: prefix %q lies inside Traefik's root %q: Traefik would read the sidecar's own keys", opts.Prefix, opts.Root)
	}
	if len(opts.EntryPoints) == 0 {
		opts.EntryPoints = []string{"web"}
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = time.Second
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	return &Plugin{
		opts:  opts,
		s:     settings{root: opts.Root, entryPoints: opts.EntryPoints, certResolver: opts.CertResolver},
		rdb:   opts.Client,
		http:  opts.HTTPClient,
		owned: map[string]deployer.Route{},
	}, nil
}

// ownedKey is the hash recording the plugin's routers: name -> route JSON.
func (p *Plugin) ownedKey() string { return p.opts.Prefix + "traefik-kv:" + p.opts.Root + ":owned" }

// Upsert writes r's router and service, deleting keys an earlier version
// of the route had and this one has not, in one MULTI/EXEC.
func (p *Plugin) Upsert(ctx context.Context, r deployer.Route) error {
	name := Name(r)
	if err := validate(r); err != nil {
		return fmt.Errorf("traefik-kv: upsert route %s (%s): %w", name, r.Host, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	prev, had, err := p.previous(ctx, name)
	if err != nil {
		return fmt.Errorf("traefik-kv: upsert route %s (%s): %w", name, r.Host, err)
	}
	if had && prev.ID != r.ID {
		return fmt.Errorf("traefik-kv: upsert route %s (%s): name already used by route %s", name, r.Host, prev.ID)
	}
	next := p.s.keys(r)
	var old map[string]string
	if had {
		old = p.s.keys(prev)
	}
	if err := p.write(ctx, stale(old, next), next, map[string]deployer.Route{name: r}, nil); err != nil {
		return fmt.Errorf("traefik-kv: upsert route %s (%s): %w", name, r.Host, err)
	}
	p.owned[name] = r
	return nil
}

// Delete removes r's router and service and its ownership record in one
// MULTI/EXEC. A route already gone is not an error.
func (p *Plugin) Delete(ctx context.Context, r deployer.Route) error {
	name := Name(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	prev, had, err := p.previous(ctx, name)
	if err != nil {
		return fmt.Errorf("traefik-kv: delete route %s (%s): %w", name, r.Host, err)
	}
	if had && prev.ID != r.ID {
		return nil // the name belongs to another route: not r's to delete
	}
	// The keys r would have, and those the recorded version has: the name
	// is derived from r, so both sets are the sidecar's own.
	del := slices.Collect(maps.Keys(p.s.keys(r)))
	if had {
		del = append(del, stale(p.s.keys(r), p.s.keys(prev))...)
	}
	if err := p.write(ctx, del, nil, nil, []string{name}); err != nil {
		return fmt.Errorf("traefik-kv: delete route %s (%s): %w", name, r.Host, err)
	}
	delete(p.owned, name)
	return nil
}

// Routes returns the ids of the routes the plugin owns, sorted, from the
// record in Redis.
func (p *Plugin) Routes(ctx context.Context) ([]string, error) {
	rec, err := p.record(ctx)
	if err != nil {
		return nil, fmt.Errorf("traefik-kv: list routes: %w", err)
	}
	ids := make([]string, 0, len(rec))
	for _, r := range rec {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids, nil
}

// previous is the route recorded under name: in memory, else in Redis
// (after a restart of the sidecar).
func (p *Plugin) previous(ctx context.Context, name string) (deployer.Route, bool, error) {
	if r, ok := p.owned[name]; ok {
		return r, true, nil
	}
	raw, err := p.rdb.HGet(ctx, p.ownedKey(), name).Result()
	if errors.Is(err, redis.Nil) {
		return deployer.Route{}, false, nil
	}
	if err != nil {
		return deployer.Route{}, false, fmt.Errorf("read ownership record: %w", err)
	}
	var r deployer.Route
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return deployer.Route{}, false, fmt.Errorf("decode ownership record of %s: %w", name, err)
	}
	return r, true, nil
}

// record reads the whole ownership record.
func (p *Plugin) record(ctx context.Context) (map[string]deployer.Route, error) {
	raw, err := p.rdb.HGetAll(ctx, p.ownedKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("read ownership record: %w", err)
	}
	out := make(map[string]deployer.Route, len(raw))
	for name, v := range raw {
		var r deployer.Route
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("decode ownership record of %s: %w", name, err)
		}
		out[name] = r
	}
	return out, nil
}

// write applies one change as one MULTI/EXEC: delete del, set set, record
// own, forget disown.
func (p *Plugin) write(ctx context.Context, del []string, set map[string]string, own map[string]deployer.Route, disown []string) error {
	_, err := p.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		if len(del) > 0 {
			slices.Sort(del)
			tx.Del(ctx, del...)
		}
		if len(set) > 0 {
			args := make([]any, 0, 2*len(set))
			for _, k := range slices.Sorted(maps.Keys(set)) {
				args = append(args, k, set[k])
			}
			tx.MSet(ctx, args...)
		}
		if len(own) > 0 {
			args := make([]any, 0, 2*len(own))
			for _, name := range slices.Sorted(maps.Keys(own)) {
				b, err := json.Marshal(own[name])
				if err != nil {
					return err
				}
				args = append(args, name, string(b))
			}
			tx.HSet(ctx, p.ownedKey(), args...)
		}
		if len(disown) > 0 {
			tx.HDel(ctx, p.ownedKey(), disown...)
		}
		return nil
	})
	return err
}

// validate rejects a route Traefik would load and then fail on, or whose
// rule would break out of Host(`...`).
func validate(r deployer.Route) error {
	return proxyplug.CheckRoute(r, " \t\r\n/`()", " /")
}
