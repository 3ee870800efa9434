package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/secrets"
)

var _ secrets.Store = (*Store)(nil)

// registries is a hash: registry name -> secrets.Registry JSON (token sealed).
func (k keys) registries() string { return k.prefix + "registries" }

// env is a hash of one workload's env overrides: KEY -> secrets.EnvValue JSON.
func (k keys) env(workload string) string { return k.prefix + "env:" + workload }

// envWorkloads is the set of workloads that have env overrides.
func (k keys) envWorkloads() string { return k.prefix + "env-workloads" }

// casField sets a hash field to ARGV[3] only while it still holds ARGV[2].
var casField = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0`)

// delEnv removes one override and forgets the workload when it has no more.
var delEnv = redis.NewScript(`
local n = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return n`)

// PutRegistry stores r, replacing a registry of the same name.
func (s *Store) PutRegistry(ctx context.Context, r secrets.Registry) error {
	b, _ := json.Marshal(r)
	if err := s.rdb.HSet(ctx, s.k.registries(), r.Name, b).Err(); err != nil {
		return fmt.Errorf("store registry %s: %w", r.Name, err)
	}
	return nil
}

// GetRegistry returns the registry stored as name, or secrets.ErrNotFound.
func (s *Store) GetRegistry(ctx context.Context, name string) (secrets.Registry, error) {
	raw, err := s.rdb.HGet(ctx, s.k.registries(), name).Result()
	if errors.Is(err, redis.Nil) {
		return secrets.Registry{}, secrets.ErrNotFound
	}
	if err != nil {
		return secrets.Registry{}, fmt.Errorf("read registry %s: %w", name, err)
	}
	var r secrets.Registry
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return secrets.Registry{}, fmt.Errorf("read registry %s: damaged record", name)
	}
	return r, nil
}

// ListRegistries returns every stored registry.
func (s *Store) ListRegistries(ctx context.Context) ([]secrets.Registry, error) {
	all, err := s.rdb.HGetAll(ctx, s.k.registries()).Result()
	if err != nil {
		return nil, fmt.Errorf("list registries: %w", err)
	}
	out := make([]secrets.Registry, 0, len(all))
	for name, raw := range all {
		var r secrets.Registry
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return nil, fmt.Errorf("list registries: damaged record %s", name)
		}
		out = append(out, r)
	}
	return out, nil
}

// DeleteRegistry removes a registry; secrets.ErrNotFound when absent.
func (s *Store) DeleteRegistry(ctx context.Context, name string) error {
	n, err := s.rdb.HDel(ctx, s.k.registries(), name).Result()
	if err != nil {
		return fmt.Errorf("remove registry %s: %w", name, err)
	}
	if n == 0 {
		return secrets.ErrNotFound
	}
	return nil
}

// ReplaceRegistry writes next only while the stored record equals old.
func (s *Store) ReplaceRegistry(ctx context.Context, old, next secrets.Registry) (bool, error) {
	if old.Name != next.Name {
		return false, fmt.Errorf("replace registry %s: name changed to %s", old.Name, next.Name)
	}
	a, _ := json.Marshal(old)
	b, _ := json.Marshal(next)
	n, err := casField.Run(ctx, s.rdb, []string{s.k.registries()}, old.Name, string(a), string(b)).Int()
	if err != nil {
		return false, fmt.Errorf("replace registry %s: %w", old.Name, err)
	}
	return n == 1, nil
}

// PutEnv stores one env override of workload.
func (s *Store) PutEnv(ctx context.Context, workload, key string, v secrets.EnvValue) error {
	b, _ := json.Marshal(v)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.k.env(workload), key, b)
		p.SAdd(ctx, s.k.envWorkloads(), workload)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store env %s of %s: %w", key, workload, err)
	}
	return nil
}

// GetEnv returns every env override of workload (none: an empty map).
func (s *Store) GetEnv(ctx context.Context, workload string) (map[string]secrets.EnvValue, error) {
	all, err := s.rdb.HGetAll(ctx, s.k.env(workload)).Result()
	if err != nil {
		return nil, fmt.Errorf("read env of %s: %w", workload, err)
	}
	out := make(map[string]secrets.EnvValue, len(all))
	for key, raw := range all {
		var v secrets.EnvValue
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return nil, fmt.Errorf("read env of %s: damaged record %s", workload, key)
		}
		out[key] = v
	}
	return out, nil
}

// DeleteEnv removes one override; secrets.ErrNotFound when absent.
func (s *Store) DeleteEnv(ctx context.Context, workload, key string) error {
	n, err := delEnv.Run(ctx, s.rdb, []string{s.k.env(workload), s.k.envWorkloads()}, key, workload).Int()
	if err != nil {
		return fmt.Errorf("remove env %s of %s: %w", key, workload, err)
	}
	if n == 0 {
		return secrets.ErrNotFound
	}
	return nil
}

// EnvWorkloads lists the workloads that have env overrides.
func (s *Store) EnvWorkloads(ctx context.Context) ([]string, error) {
	ws, err := s.rdb.SMembers(ctx, s.k.envWorkloads()).Result()
	if err != nil {
		return nil, fmt.Errorf("list env workloads: %w", err)
	}
	return ws, nil
}

// ReplaceEnv writes next only while the stored override equals old.
func (s *Store) ReplaceEnv(ctx context.Context, workload, key string, old, next secrets.EnvValue) (bool, error) {
	a, _ := json.Marshal(old)
	b, _ := json.Marshal(next)
	n, err := casField.Run(ctx, s.rdb, []string{s.k.env(workload)}, key, string(a), string(b)).Int()
	if err != nil {
		return false, fmt.Errorf("replace env %s of %s: %w", key, workload, err)
	}
	return n == 1, nil
}
