package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
)

// Pending is a delivery of a workload with approval manual that waits for
// an operator: at most one per workload, the newest accepted. It lives in
// Redis until it is approved (then it becomes an inbox entry), rejected,
// replaced by a newer delivery, or expires.
type Pending struct {
	// ID tells one pending delivery from another: approve and reject act
	// only on the one they read.
	ID       string    `json:"id"`
	Workload string    `json:"workload"`
	Image    string    `json:"image"`
	Tag      string    `json:"tag"`
	Digest   string    `json:"digest,omitempty"`
	Source   string    `json:"source"`
	Delivery string    `json:"delivery,omitempty"`
	Since    time.Time `json:"since"`
	Expires  time.Time `json:"expires,omitzero"` // zero: waits until approved, rejected or replaced
}

// Expired reports whether p may no longer be approved at now.
func (p Pending) Expired(now time.Time) bool { return !p.Expires.IsZero() && !now.Before(p.Expires) }

// holdScript stores a pending delivery, returning the one it replaces.
// The same tag and digest again (a request redone after a restart) keep
// the one stored, with its time: 0 and the stored JSON are returned.
//
// KEYS[1] pending hash; ARGV[1] workload, ARGV[2] Pending JSON, ARGV[3]
// tag, ARGV[4] digest.
var holdScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local o = cjson.decode(old)
  if o.tag == ARGV[3] and (o.digest or '') == ARGV[4] then return {0, old} end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if old then return {1, old} end
return {1, false}
`)

// HoldPending makes p the workload's pending delivery. It returns the one
// p replaced (nil when there was none), and stored false when the same
// tag and digest were pending already (kept as they were, returned as
// old).
func (s *Store) HoldPending(ctx context.Context, p Pending) (old *Pending, stored bool, err error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, false, fmt.Errorf("hold %s:%s for approval: encode: %w", p.Workload, p.Tag, err)
	}
	res, err := holdScript.Run(ctx, s.rdb, []string{s.k.pending()}, p.Workload, string(b), p.Tag, p.Digest).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("hold %s:%s for approval: %w", p.Workload, p.Tag, err)
	}
	if len(res) != 2 {
		return nil, false, fmt.Errorf("hold %s:%s for approval: unexpected answer %v", p.Workload, p.Tag, res)
	}
	n, _ := res[0].(int64)
	if raw, ok := res[1].(string); ok {
		var o Pending
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			return nil, false, fmt.Errorf("hold %s:%s for approval: decode the pending one: %w", p.Workload, p.Tag, err)
		}
		old = &o
	}
	return old, n == 1, nil
}

// PendingApproval returns the workload's pending delivery; ok is false
// when none waits.
func (s *Store) PendingApproval(ctx context.Context, workload string) (p Pending, ok bool, err error) {
	raw, err := s.rdb.HGet(ctx, s.k.pending(), workload).Result()
	if errors.Is(err, redis.Nil) {
		return Pending{}, false, nil
	}
	if err != nil {
		return Pending{}, false, fmt.Errorf("read the pending delivery of %s: %w", workload, err)
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return Pending{}, false, fmt.Errorf("read the pending delivery of %s: decode: %w", workload, err)
	}
	return p, true, nil
}

// PendingApprovals returns every pending delivery, by workload. One that
// does not decode is left out (and stays until replaced or rejected).
func (s *Store) PendingApprovals(ctx context.Context) (map[string]Pending, error) {
	all, err := s.rdb.HGetAll(ctx, s.k.pending()).Result()
	if err != nil {
		return nil, fmt.Errorf("read pending deliveries: %w", err)
	}
	out := make(map[string]Pending, len(all))
	for w, raw := range all {
		var p Pending
		if json.Unmarshal([]byte(raw), &p) == nil {
			out[w] = p
		}
	}
	return out, nil
}

// settleScript removes a workload's pending delivery if it is still the
// one with id ARGV[2], appends the history record ARGV[3] and, when
// ARGV[4] is not empty, appends it to the inbox as an entry: approve,
// reject and expire in one atomic step each, so the pending delivery
// becomes exactly one of "deploying" or "gone", even across a crash or
// two sidecars acting at once.
//
// KEYS[1] pending hash, KEYS[2] history stream, KEYS[3] inbox; ARGV[1]
// workload, ARGV[2] id, ARGV[3] event JSON, ARGV[4] entry JSON or "",
// ARGV[5] history length.
var settleScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or cjson.decode(cur).id ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[4] ~= '' then redis.call('XADD', KEYS[3], '*', 'entry', ARGV[4]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[3])
return 1
`)

// SettlePending ends p (if it is still the pending delivery of its
// workload) with the history record ev; a non-nil entry is stored in the
// inbox in the same step (an approval). It returns false when p was no
// longer pending: approved, rejected, replaced or expired meanwhile.
func (s *Store) SettlePending(ctx context.Context, p Pending, ev deployer.Event, entry *InboxEntry) (bool, error) {
	evJSON, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("settle the pending %s:%s: encode event: %w", p.Workload, p.Tag, err)
	}
	entryJSON := []byte{}
	if entry != nil {
		if entryJSON, err = json.Marshal(entry); err != nil {
			return false, fmt.Errorf("settle the pending %s:%s: encode entry: %w", p.Workload, p.Tag, err)
		}
	}
	n, err := settleScript.Run(ctx, s.rdb, []string{s.k.pending(), s.k.events(p.Workload), s.k.inbox()},
		p.Workload, p.ID, string(evJSON), string(entryJSON), HistoryLen).Int()
	if err != nil {
		return false, fmt.Errorf("settle the pending %s:%s: %w", p.Workload, p.Tag, err)
	}
	return n == 1, nil
}
