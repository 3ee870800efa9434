package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/secrets"
)

// TestSecretsOnRedis drives the real Vault on a real Redis: what lands in
// Redis is sealed, reads and the compare-and-swap rotation work, and every
// key stays under the prefix.
func TestSecretsOnRedis(t *testing.T) {
	srv := testsvc.Redis(t)
	s := newStore(t, srv, "tf-sec:")
	ctx := context.Background()
	k1, _ := secrets.NewKeyring([]byte(strings.Repeat("1", 32)))
	v := &secrets.Vault{Store: s, Keys: k1}

	must(t, v.AddRegistry(ctx, "ghcr", "ghcr.io", "bot", "ghp_token_on_redis"))
	must(t, v.SetEnv(ctx, "web", "DB_PASSWORD", "redis-secret-value", true))
	must(t, v.SetEnv(ctx, "web", "MODE", "prod", false))

	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = raw.Close() })
	for _, key := range allKeys(t, srv) {
		if !strings.HasPrefix(key, "tf-sec:") {
			t.Errorf("key %q outside the prefix", key)
		}
		dump, _ := raw.Dump(ctx, key).Result()
		if strings.Contains(dump, "ghp_token_on_redis") || strings.Contains(dump, "redis-secret-value") {
			t.Errorf("key %s holds a secret in clear", key)
		}
	}
	equal(t, "keys", slices.Sorted(slices.Values(allKeys(t, srv))), []string{"tf-sec:env-workloads", "tf-sec:env:web", "tf-sec:registries"})

	c, err := v.Credential(ctx, "ghcr", "ghcr.io")
	if err != nil || c.Password != "ghp_token_on_redis" || c.Username != "bot" {
		t.Fatalf("Credential: %v", err)
	}
	env, skipped, err := v.EnvOverrides(ctx, "web", "")
	must(t, err)
	equal(t, "env", env, map[string]string{"DB_PASSWORD": "redis-secret-value", "MODE": "prod"})
	equal(t, "skipped", len(skipped), 0)

	// Rotation to a new key, old one still configured.
	k2, _ := secrets.NewKeyring([]byte(strings.Repeat("2", 32)), []byte(strings.Repeat("1", 32)))
	rep, err := (&secrets.Vault{Store: s, Keys: k2}).Rotate(ctx)
	must(t, err)
	equal(t, "rotate report", rep, secrets.RotateReport{Resealed: 2, Unchanged: 1})
	onlyNew, _ := secrets.NewKeyring([]byte(strings.Repeat("2", 32)))
	if env, _, _ := (&secrets.Vault{Store: s, Keys: onlyNew}).EnvOverrides(ctx, "web", ""); env["DB_PASSWORD"] != "redis-secret-value" {
		t.Errorf("after rotation: %v", env)
	}

	// Compare and swap refuses a stale old value.
	r, _ := s.GetRegistry(ctx, "ghcr")
	stale := r
	stale.Username = "someone-else"
	ok, err := s.ReplaceRegistry(ctx, stale, r)
	if ok || err != nil {
		t.Errorf("ReplaceRegistry with a stale old = %v, %v", ok, err)
	}

	// Removal, and the workload index follows the last override.
	must(t, s.DeleteEnv(ctx, "web", "MODE"))
	must(t, s.DeleteEnv(ctx, "web", "DB_PASSWORD"))
	if err := s.DeleteEnv(ctx, "web", "MODE"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("second DeleteEnv = %v", err)
	}
	ws, _ := s.EnvWorkloads(ctx)
	equal(t, "env workloads", len(ws), 0)
	must(t, s.DeleteRegistry(ctx, "ghcr"))
	if _, err := s.GetRegistry(ctx, "ghcr"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("GetRegistry after delete = %v", err)
	}
	regs, _ := s.ListRegistries(ctx)
	if slices.ContainsFunc(regs, func(r secrets.Registry) bool { return r.Name == "ghcr" }) {
		t.Error("deleted registry still listed")
	}
}
