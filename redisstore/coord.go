package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
)

var _ deployer.Coordinator = (*Store)(nil)

// tryLockScript grants the lock (SET NX PX) and, only then, a new epoch
// and the fence "<epoch>:<token>" that fenced writes compare against.
// A fresh epoch counter (first grant, or Redis lost its data) starts at
// Redis' clock in milliseconds, so epochs keep growing across a flush.
var tryLockScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
local e = redis.call('INCR', KEYS[2])
if e == 1 then
  local t = redis.call('TIME')
  e = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('SET', KEYS[2], e)
end
redis.call('SET', KEYS[3], e .. ':' .. ARGV[1])
return e
`)

// renewScript extends the lock while the fence is still this lease's; a
// lock that expired with no newer grant is taken back.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[3] then
  return 0
end
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

// unlockScript is compare-and-delete: only the holder releases.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// commitScript applies a batch of hash/index writes if the fence still
// names the caller's lease. KEYS[1] is the fence; each op then has two
// keys (hash, index set) and three arguments (op, id, value).
var commitScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
` + applyOps)

// forgetScript is commitScript without the fence check (KEYS[1] and
// ARGV[1] are unused): see Forget.
var forgetScript = redis.NewScript(applyOps)

// applyOps applies the ops of a commit: KEYS[1] and ARGV[1] belong to the
// fence check.
const applyOps = `
local k = 2
for i = 2, #ARGV, 3 do
  local op, id, val = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local h, s = KEYS[k], KEYS[k + 1]
  k = k + 2
  if op == 'put' then
    redis.call('HSET', h, id, val)
    redis.call('SADD', s, id)
  elseif op == 'upd' then
    if redis.call('HEXISTS', h, id) == 1 then
      redis.call('HSET', h, id, val)
    end
  elseif op == 'del' then
    redis.call('HDEL', h, id)
    redis.call('SREM', s, id)
  elseif op == 'hset' then
    redis.call('HSET', h, id, val)
  elseif op == 'hdel' then
    redis.call('HDEL', h, id)
  end
end
return 1
`

// TryLock grants workload's deploy lock for ttl if it is free.
func (s *Store) TryLock(ctx context.Context, workload, owner string, ttl time.Duration) (deployer.Lease, bool, error) {
	if workload == "" {
		return deployer.Lease{}, false, errors.New("lock: empty workload")
	}
	token := deployer.NewToken(owner)
	keys := []string{s.k.lock(workload), s.k.epoch(workload), s.k.fence(workload)}
	epoch, err := tryLockScript.Run(ctx, s.rdb, keys, token, ttl.Milliseconds()).Int64()
	if err != nil {
		return deployer.Lease{}, false, fmt.Errorf("lock %s: %w", workload, err)
	}
	if epoch == 0 {
		return deployer.Lease{}, false, nil
	}
	return deployer.Lease{Workload: workload, Token: token, Epoch: epoch}, true, nil
}

// Renew extends l by ttl, or fails with deployer.ErrLockLost once a newer
// lease of the workload was granted.
func (s *Store) Renew(ctx context.Context, l deployer.Lease, ttl time.Duration) error {
	keys := []string{s.k.lock(l.Workload), s.k.fence(l.Workload)}
	ok, err := renewScript.Run(ctx, s.rdb, keys, l.Token, ttl.Milliseconds(), deployer.FenceOf(l)).Int()
	if err != nil {
		return fmt.Errorf("renew lock %s: %w", l.Workload, err)
	}
	if ok == 0 {
		return fmt.Errorf("renew lock %s (epoch %d): %w", l.Workload, l.Epoch, deployer.ErrLockLost)
	}
	return nil
}

// Unlock releases l if it still holds the lock.
func (s *Store) Unlock(ctx context.Context, l deployer.Lease) error {
	if err := unlockScript.Run(ctx, s.rdb, []string{s.k.lock(l.Workload)}, l.Token).Err(); err != nil {
		return fmt.Errorf("unlock %s: %w", l.Workload, err)
	}
	return nil
}

// Commit applies w in one script if l is still the newest lease of its
// workload; otherwise nothing is written and the error wraps
// deployer.ErrFenced.
func (s *Store) Commit(ctx context.Context, l deployer.Lease, w deployer.Writes) error {
	ok, err := s.apply(ctx, commitScript, l.Workload, deployer.FenceOf(l), w)
	if err != nil {
		return fmt.Errorf("commit for %s: %w", l.Workload, err)
	}
	if !ok {
		return fmt.Errorf("commit for %s (epoch %d): %w", l.Workload, l.Epoch, deployer.ErrFenced)
	}
	return nil
}

// Forget deletes instance records and closes a journal without a fence
// (see deployer.Coordinator); any other write in w is refused.
func (s *Store) Forget(ctx context.Context, workload string, w deployer.Writes) error {
	if len(w.Instances)+len(w.Refresh)+len(w.Routes)+len(w.DeleteRoutes) > 0 || w.Journal != nil {
		return fmt.Errorf("forget for %s: only instance deletions and a journal close go unfenced", workload)
	}
	if _, err := s.apply(ctx, forgetScript, workload, "", w); err != nil {
		return fmt.Errorf("forget for %s: %w", workload, err)
	}
	return nil
}

// apply runs script over w's writes, with fence as the value the fence
// key must hold (forgetScript ignores both); ok is the script's verdict.
func (s *Store) apply(ctx context.Context, script *redis.Script, workload, fence string, w deployer.Writes) (bool, error) {
	keys := []string{s.k.fence(workload)}
	args := []any{fence}
	add := func(op, hash, set, id string, v any) error {
		val := ""
		if v != nil {
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("encode %s: %w", id, err)
			}
			val = string(b)
		}
		if set == "" {
			set = hash // unused by hset/hdel, but every op has two keys
		}
		keys = append(keys, hash, set)
		args = append(args, op, id, val)
		return nil
	}
	var err error
	for _, in := range w.DeleteInstances {
		err = errors.Join(err, s.addDelete(add, s.k.instances(), in.ID, in.Workload, s.k.workloadInstances))
	}
	for _, in := range w.Instances {
		if in.ID == "" || in.Workload == "" {
			return false, fmt.Errorf("instance %q: id and workload are required", in.ID)
		}
		err = errors.Join(err, add("put", s.k.instances(), s.k.workloadInstances(in.Workload), in.ID, in))
	}
	for _, in := range w.Refresh {
		if in.ID == "" || in.Workload == "" {
			return false, fmt.Errorf("instance %q: id and workload are required", in.ID)
		}
		err = errors.Join(err, add("upd", s.k.instances(), "", in.ID, in))
	}
	for _, r := range w.DeleteRoutes {
		err = errors.Join(err, s.addDelete(add, s.k.routes(), r.ID, r.Workload, s.k.workloadRoutes))
	}
	for _, r := range w.Routes {
		if r.ID == "" || r.Workload == "" {
			return false, fmt.Errorf("route %q: id and workload are required", r.ID)
		}
		err = errors.Join(err, add("put", s.k.routes(), s.k.workloadRoutes(r.Workload), r.ID, r))
	}
	if w.Journal != nil {
		err = errors.Join(err, add("hset", s.k.journals(), "", w.Journal.ID, w.Journal))
	}
	if w.CloseJournal != "" {
		err = errors.Join(err, add("hdel", s.k.journals(), "", w.CloseJournal, nil))
	}
	if err != nil {
		return false, err
	}
	n, err := script.Run(ctx, s.rdb, keys, args...).Int()
	return n == 1, err
}

// addDelete queues the deletion of hash[id] and its index entry; without
// a workload only the value goes (a stale index id is skipped on read).
func (s *Store) addDelete(add func(op, hash, set, id string, v any) error, hash, id, workload string, index func(string) string) error {
	if id == "" {
		return errors.New("delete: empty id")
	}
	if workload == "" {
		return add("hdel", hash, "", id, nil)
	}
	return add("del", hash, index(workload), id, nil)
}

// Journals returns every open deploy journal, by id.
func (s *Store) Journals(ctx context.Context) ([]deployer.Journal, error) {
	vals, err := s.rdb.HVals(ctx, s.k.journals()).Result()
	if err != nil {
		return nil, fmt.Errorf("read journals: %w", err)
	}
	out := make([]deployer.Journal, 0, len(vals))
	for _, v := range vals {
		var j deployer.Journal
		if err := json.Unmarshal([]byte(v), &j); err != nil {
			return nil, fmt.Errorf("read journals: decode: %w", err)
		}
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b deployer.Journal) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
