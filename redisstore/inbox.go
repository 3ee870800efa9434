package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
)

// InboxGroup is the consumer group the sidecar reads the inbox with.
const InboxGroup = "tinyforge"

// entryField is the one stream field holding an inbox entry as JSON.
const entryField = "entry"

// InboxEntry is one accepted operation on one workload: a delivery (a
// push or the deploy API), a rollback, a teardown or a converge. It stays
// in the inbox until the operation that covers it is done, so a sidecar
// killed after answering still carries it out after a restart.
type InboxEntry struct {
	ID string `json:"-"` // stream id, set when read
	// Kind is the operation; "" (entries written before kinds existed) is
	// a delivery. A rollback's target is Image, Tag and Digest.
	Kind     deployer.Kind `json:"kind,omitempty"`
	Workload string        `json:"workload"`
	Tag      string        `json:"tag"`
	Digest   string        `json:"digest,omitempty"`
	Image    string        `json:"image"` // the repository as the trigger named it
	Source   string        `json:"source"`
	Delivery string        `json:"delivery,omitempty"`
	Pushed   time.Time     `json:"pushed,omitzero"` // the registry's time of the push
	Received time.Time     `json:"received"`
}

// Intake is what one push brings: the entries for the workloads it
// concerns and their history records. Accept stores it all or nothing,
// and at most once per DedupKey.
type Intake struct {
	// DedupKey identifies the push across redeliveries ("" = none known).
	DedupKey string
	// AlsoKeys identify it too (the hash of a signed body beside the
	// delivery id): the push is a duplicate if any of its keys was seen.
	AlsoKeys []string
	Entries  []InboxEntry
	// Accepted[i] goes to the history of Entries[i] when the push is new,
	// Duplicate[i] when DedupKey was seen within the TTL.
	Accepted, Duplicate []deployer.Event
}

// acceptScript checks and sets the dedup key and, when the push is new,
// appends its entries to the inbox; either way it records the outcome in
// each workload's history. One script per push makes "stored" and "seen"
// the same fact: a redelivery after a failure half-way cannot be lost nor
// stored twice.
//
// KEYS[1] inbox, KEYS[2] dedup key (ignored when ARGV[1] is "0"),
// KEYS[2+i] history of entry i, then further dedup keys; ARGV[1] TTL in
// ms or "0", ARGV[2] history length, then per entry: entry JSON, accepted
// event, duplicate event.
var acceptScript = redis.NewScript(`
local n = (#ARGV - 2) / 3
local fresh = true
if ARGV[1] ~= '0' then
  fresh = redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1])
  for j = 3 + n, #KEYS do
    if not redis.call('SET', KEYS[j], '1', 'NX', 'PX', ARGV[1]) then fresh = false end
  end
end
for i = 1, n do
  local at = 3 + (i - 1) * 3
  if fresh then
    redis.call('XADD', KEYS[1], '*', 'entry', ARGV[at])
    redis.call('XADD', KEYS[2 + i], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[at + 1])
  else
    redis.call('XADD', KEYS[2 + i], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[at + 2])
  end
end
if fresh then return 1 end
return 0
`)

// Accept stores the intakes of one delivery and appends the global
// events (ignored pushes; one naming a workload also goes to its history)
// in one round trip. It returns, per intake,
// whether it was new (false: a duplicate). Any error means nothing can be
// assumed stored: the caller must not acknowledge the delivery.
func (s *Store) Accept(ctx context.Context, ttl time.Duration, intakes []Intake, global []deployer.Event) ([]bool, error) {
	ttlMS := "0"
	if ttl > 0 {
		ttlMS = strconv.FormatInt(max(ttl.Milliseconds(), 1), 10)
	}
	cmds := make([]*redis.Cmd, len(intakes))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, in := range intakes {
			if len(in.Accepted) != len(in.Entries) || len(in.Duplicate) != len(in.Entries) {
				return fmt.Errorf("accept: intake %d: %d entries, %d accepted and %d duplicate events", i, len(in.Entries), len(in.Accepted), len(in.Duplicate))
			}
			keys := []string{s.k.inbox(), s.k.inbox()}
			arg := "0"
			if in.DedupKey != "" {
				keys[1], arg = s.k.delivery(in.DedupKey), ttlMS
			}
			args := []any{arg, HistoryLen}
			for j, e := range in.Entries {
				if e.Workload == "" {
					return fmt.Errorf("accept: intake %d entry %d: empty workload", i, j)
				}
				entry, err := json.Marshal(e)
				if err != nil {
					return err
				}
				acc, err := json.Marshal(in.Accepted[j])
				if err != nil {
					return err
				}
				dup, err := json.Marshal(in.Duplicate[j])
				if err != nil {
					return err
				}
				keys = append(keys, s.k.events(e.Workload))
				args = append(args, entry, acc, dup)
			}
			if in.DedupKey != "" {
				for _, k := range in.AlsoKeys {
					keys = append(keys, s.k.delivery(k))
				}
			}
			cmds[i] = acceptScript.Eval(ctx, p, keys, args...)
		}
		for _, ev := range global {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: s.k.globalEvents(), MaxLen: HistoryLen, Approx: true, Values: []any{eventField, string(b)}})
			if ev.Workload != "" {
				p.XAdd(ctx, &redis.XAddArgs{Stream: s.k.events(ev.Workload), MaxLen: HistoryLen, Approx: true, Values: []any{eventField, string(b)}})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("accept delivery: %w", err)
	}
	fresh := make([]bool, len(intakes))
	for i, c := range cmds {
		n, err := c.Int()
		if err != nil {
			return nil, fmt.Errorf("accept delivery: %w", err)
		}
		fresh[i] = n == 1
	}
	return fresh, nil
}

// Enqueue appends one operation to the inbox and returns its id: the
// management API's rollbacks and teardowns and the controllers' converges
// take the same durable path as deliveries.
func (s *Store) Enqueue(ctx context.Context, e InboxEntry) (string, error) {
	if e.Workload == "" {
		return "", errors.New("enqueue: empty workload")
	}
	if _, err := deployer.ParseKind(string(e.Kind)); err != nil {
		return "", fmt.Errorf("enqueue %s: %w", e.Workload, err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("enqueue %s: %w", e.Workload, err)
	}
	id, err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.k.inbox(), Values: []any{entryField, string(b)}}).Result()
	if err != nil {
		return "", fmt.Errorf("enqueue %s %s: %w", e.Kind, e.Workload, err)
	}
	return id, nil
}

// AppendGlobalEvent records a delivery that concerns no workload (ignored
// or rejected) in the global stream, trimmed like a workload's history.
func (s *Store) AppendGlobalEvent(ctx context.Context, ev deployer.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("append global event: %w", err)
	}
	err = s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.k.globalEvents(), MaxLen: HistoryLen, Approx: true, Values: []any{eventField, string(b)}}).Err()
	if err != nil {
		return fmt.Errorf("append global event: %w", err)
	}
	return nil
}

// GlobalEvents returns the newest n global events, newest first (n <= 0: all kept).
func (s *Store) GlobalEvents(ctx context.Context, n int64) ([]deployer.Event, error) {
	return s.readEvents(ctx, s.k.globalEvents(), "global events", n)
}

// EnsureInbox creates the inbox stream and its consumer group, reading
// from the very first entry so that entries accepted before the first
// consumer started are not skipped. An existing group is left as it is.
func (s *Store) EnsureInbox(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.k.inbox(), InboxGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create inbox group: %w", err)
	}
	return nil
}

// Heartbeat marks consumer alive for ttl. A sidecar beats while its
// inbox consumer runs; ClaimDead takes over only the entries of consumers
// whose heartbeat lapsed, never those a live sibling is still deploying.
func (s *Store) Heartbeat(ctx context.Context, consumer string, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.k.consumer(consumer), "alive", ttl).Err(); err != nil {
		return fmt.Errorf("inbox heartbeat: %w", err)
	}
	return nil
}

// ClaimDead takes over the entries read but never acknowledged by
// consumers other than consumer whose heartbeat lapsed (a sidecar that
// crashed, or was killed right after answering 202): these are requests
// whose deploys may not have happened. The dead consumer is then removed
// from the group.
func (s *Store) ClaimDead(ctx context.Context, consumer string) ([]InboxEntry, error) {
	consumers, err := s.rdb.XInfoConsumers(ctx, s.k.inbox(), InboxGroup).Result()
	if noGroup(err) {
		return nil, nil // nothing pending: Redis lost the inbox; ReadInbox recreates it
	}
	if err != nil {
		return nil, fmt.Errorf("claim inbox: list consumers: %w", err)
	}
	var out []InboxEntry
	for _, c := range consumers {
		if c.Name == consumer {
			continue
		}
		alive, err := s.rdb.Exists(ctx, s.k.consumer(c.Name)).Result()
		if err != nil {
			return nil, fmt.Errorf("claim inbox: heartbeat of %s: %w", c.Name, err)
		}
		if alive > 0 {
			continue
		}
		for c.Pending > 0 {
			pending, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: s.k.inbox(), Group: InboxGroup, Start: "-", End: "+", Count: 100, Consumer: c.Name,
			}).Result()
			if err != nil {
				return nil, fmt.Errorf("claim inbox: pending of %s: %w", c.Name, err)
			}
			if len(pending) == 0 {
				break
			}
			ids := make([]string, len(pending))
			for i, p := range pending {
				ids[i] = p.ID
			}
			msgs, err := s.rdb.XClaim(ctx, &redis.XClaimArgs{
				Stream: s.k.inbox(), Group: InboxGroup, Consumer: consumer, Messages: ids,
			}).Result()
			if err != nil {
				return nil, fmt.Errorf("claim inbox: entries of %s: %w", c.Name, err)
			}
			out = append(out, decodeEntries(msgs)...)
			// Entries deleted meanwhile are not returned: acknowledge them away.
			got := make(map[string]bool, len(msgs))
			for _, m := range msgs {
				got[m.ID] = true
			}
			if gone := slices.DeleteFunc(ids, func(id string) bool { return got[id] }); len(gone) > 0 {
				s.rdb.XAck(ctx, s.k.inbox(), InboxGroup, gone...)
			}
			c.Pending -= int64(len(pending))
		}
		s.rdb.XGroupDelConsumer(ctx, s.k.inbox(), InboxGroup, c.Name)
	}
	slices.SortFunc(out, func(a, b InboxEntry) int { return CompareIDs(a.ID, b.ID) })
	return out, nil
}

// OwnPending returns the entries delivered to consumer but never
// acknowledged: what this consumer name was doing when its process
// stopped (a sidecar with a stable --instance-id restarting).
func (s *Store) OwnPending(ctx context.Context, consumer string) ([]InboxEntry, error) {
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: InboxGroup, Consumer: consumer, Streams: []string{s.k.inbox(), "0"}, Count: 1000,
	}).Result()
	if noGroup(err) {
		return nil, s.EnsureInbox(ctx)
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read own pending inbox entries: %w", err)
	}
	var out []InboxEntry
	for _, st := range res {
		out = append(out, decodeEntries(st.Messages)...)
	}
	return out, nil
}

// ReadInbox returns up to n entries never delivered to a consumer,
// waiting up to block for the first one; nothing within block is no error.
func (s *Store) ReadInbox(ctx context.Context, consumer string, n int64, block time.Duration) ([]InboxEntry, error) {
	streams, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: InboxGroup, Consumer: consumer, Streams: []string{s.k.inbox(), ">"}, Count: n, Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if noGroup(err) {
		// Redis lost the stream and its group (a flush, a restart without
		// persistence): recreate them, so what is accepted from now on is
		// read, and read again.
		return nil, s.EnsureInbox(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	var out []InboxEntry
	for _, st := range streams {
		out = append(out, decodeEntries(st.Messages)...)
	}
	return out, nil
}

// AckInbox acknowledges entries whose deploys are done and deletes them:
// the inbox holds work, the histories hold what happened.
func (s *Store) AckInbox(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, s.k.inbox(), InboxGroup, ids...)
		p.XDel(ctx, s.k.inbox(), ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack inbox %v: %w", ids, err)
	}
	return nil
}

// InboxLen is the number of entries in the inbox, acknowledged or not yet.
func (s *Store) InboxLen(ctx context.Context) (int64, error) {
	n, err := s.rdb.XLen(ctx, s.k.inbox()).Result()
	if err != nil {
		return 0, fmt.Errorf("inbox length: %w", err)
	}
	return n, nil
}

// decodeEntries turns stream messages into entries; one that does not
// decode keeps only its id (and no workload), for the caller to drop.
func decodeEntries(msgs []redis.XMessage) []InboxEntry {
	out := make([]InboxEntry, 0, len(msgs))
	for _, m := range msgs {
		var e InboxEntry
		raw, _ := m.Values[entryField].(string)
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			e = InboxEntry{}
		}
		e.ID = m.ID
		out = append(out, e)
	}
	return out
}

// CompareIDs orders two stream ids ("ms-seq") numerically: -1, 0 or 1.
// Inbox order is arrival order, so a later id is a newer request.
func CompareIDs(a, b string) int {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	for _, pair := range [][2]string{{am, bm}, {as, bs}} {
		x, _ := strconv.ParseUint(pair[0], 10, 64)
		y, _ := strconv.ParseUint(pair[1], 10, 64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

// noGroup reports Redis answering that the inbox stream or its consumer
// group does not exist (NOGROUP; XINFO says "no such key").
func noGroup(err error) bool {
	return err != nil && (strings.HasPrefix(err.Error(), "NOGROUP") || strings.Contains(err.Error(), "no such key"))
}
