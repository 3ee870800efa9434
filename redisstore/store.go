// Package redisstore owns all Redis state of the sidecar: instances,
// routes, deploy history, sequence numbers, and the deploy locks, fencing
// epochs and journals that let several sidecars share it (coord.go), every
// key under one prefix.
// It must not touch keys outside that prefix, least of all Traefik's KV
// tree, which belongs to the Traefik proxy plugin.
//
// Redis may lose state (see REFERENCE.md); the store is a view the sidecar
// can rebuild from Docker, not the source of truth.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
)

var _ deployer.Store = (*Store)(nil)

// Store implements deployer.Store on Redis. It is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	k   keys
}

// New wraps an existing client; "" means DefaultPrefix. On Redis Cluster
// use a hash-tagged prefix such as "{tinyforge}:" so multi-key
// transactions stay in one slot.
func New(client redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: client, k: keys{prefix: prefix}}
}

// Open connects to rawURL (redis:// or rediss://) and pings it, so a wrong
// address fails at startup rather than on the first deploy. Errors name
// the URL with any password masked.
func Open(ctx context.Context, rawURL, prefix string) (*Store, error) {
	name := redactURL(rawURL)
	if strings.HasPrefix(prefix, "traefik") {
		return nil, fmt.Errorf("open redis %s: prefix %q is inside Traefik's key space", name, prefix)
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text repeats the raw URL, password included
			err = ue.Err
		}
		return nil, fmt.Errorf("open redis %s: bad URL: %w", name, err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("open redis %s: %w", name, err)
	}
	return New(rdb, prefix), nil
}

// Close closes the client, including one handed to New.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping checks that Redis answers, for health endpoints.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Client returns the underlying client, so other components (locks, the
// Traefik plugin) share one connection pool.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// NextSeq returns the next value of counter name (1, 2, ...), used for
// deploy ids. It only grows, even across sidecars sharing the Redis.
func (s *Store) NextSeq(ctx context.Context, name string) (int64, error) {
	if name == "" {
		return 0, errors.New("next seq: empty name")
	}
	n, err := s.rdb.Incr(ctx, s.k.seq(name)).Result()
	if err != nil {
		return 0, fmt.Errorf("next seq %s: %w", name, err)
	}
	return n, nil
}

// redactURL masks the password of a Redis URL, even an unparsable one.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	scheme := ""
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		scheme = raw[:i+3]
	}
	return scheme + "xxxxx" + raw[at:]
}

// WithPassword returns the Redis URL raw with its password replaced
// by password (--redis-password, as the sidecar and the admin commands
// read it); the user name, if any, is kept.
func WithPassword(raw, password string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the URL, which may hold a password.
		return "", fmt.Errorf("--redis-url is not a valid URL")
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String(), nil
}
