package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
)

var _ deployer.HostClaims = (*Store)(nil)

// claimHostsScript claims every host of ARGV[2..] for workload ARGV[1]
// where no owner is recorded (HSETNX), atomically, and returns the owner
// of each afterwards, in order.
var claimHostsScript = redis.NewScript(`
local out = {}
for i = 2, #ARGV do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[1])
  out[#out+1] = redis.call('HGET', KEYS[1], ARGV[i])
end
return out
`)

// releaseHostsScript deletes the claims of workload ARGV[1] on every
// host not among ARGV[2..]; other workloads' claims are never touched.
var releaseHostsScript = redis.NewScript(`
local keep = {}
for i = 2, #ARGV do keep[ARGV[i]] = true end
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  if all[i+1] == ARGV[1] and not keep[all[i]] then
    redis.call('HDEL', KEYS[1], all[i])
    n = n + 1
  end
end
return n
`)

// ClaimHosts records workload as the owner of every host nobody owns, in
// one atomic step, and returns the owner of each host.
func (s *Store) ClaimHosts(ctx context.Context, workload string, hosts []string) (map[string]string, error) {
	if workload == "" {
		return nil, errors.New("claim hosts: empty workload")
	}
	if len(hosts) == 0 {
		return map[string]string{}, nil
	}
	args := make([]any, 0, len(hosts)+1)
	args = append(args, workload)
	for _, h := range hosts {
		args = append(args, h)
	}
	res, err := claimHostsScript.Run(ctx, s.rdb, []string{s.k.hosts()}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim hosts for %s: %w", workload, err)
	}
	if len(res) != len(hosts) {
		return nil, fmt.Errorf("claim hosts for %s: %d answers for %d hosts", workload, len(res), len(hosts))
	}
	out := make(map[string]string, len(hosts))
	for i, h := range hosts {
		out[h] = res[i]
	}
	return out, nil
}

// ReleaseHosts drops workload's claims on every host not in keep.
func (s *Store) ReleaseHosts(ctx context.Context, workload string, keep []string) error {
	args := make([]any, 0, len(keep)+1)
	args = append(args, workload)
	for _, h := range keep {
		args = append(args, h)
	}
	if err := releaseHostsScript.Run(ctx, s.rdb, []string{s.k.hosts()}, args...).Err(); err != nil {
		return fmt.Errorf("release hosts of %s: %w", workload, err)
	}
	return nil
}

// HostOwners returns every host claim: host -> workload.
func (s *Store) HostOwners(ctx context.Context) (map[string]string, error) {
	out, err := s.rdb.HGetAll(ctx, s.k.hosts()).Result()
	if err != nil {
		return nil, fmt.Errorf("read host claims: %w", err)
	}
	return out, nil
}
