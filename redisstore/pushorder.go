package redisstore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// PushOrderTTL is how long the newest push time of a workload is kept
// after its last push: longer than any registry keeps retrying a delivery.
const PushOrderTTL = 30 * 24 * time.Hour

// admitScript admits a push of a workload unless a push with a later time
// was admitted before, and then records it as the newest. Times are
// fixed-width decimal nanoseconds, so Lua's string order is time order.
//
// KEYS[1] the workload's order hash; ARGV[1] push time, ARGV[2] tag,
// ARGV[3] TTL in ms. Returns {1, ""} or {0, newer tag}.
var admitScript = redis.NewScript(`
local prev = redis.call('HMGET', KEYS[1], 'at', 'tag')
if prev[1] and prev[1] > ARGV[1] then
  return {0, prev[2] or ''}
end
redis.call('HSET', KEYS[1], 'at', ARGV[1], 'tag', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, ''}
`)

// AdmitPush reports whether a push of tag at time at may deploy workload:
// registries do not guarantee delivery order, so a push older than the
// newest already admitted may not take the workload back, and the newer
// tag is returned. Equal times are admitted (registries that report whole
// seconds); a push without a time always is. The order lives in Redis, so
// it survives a restart and is shared by sidecars on one Redis; the check
// and the update are one atomic step.
func (s *Store) AdmitPush(ctx context.Context, workload string, at time.Time, tag string) (bool, string, error) {
	if at.IsZero() {
		return true, "", nil
	}
	res, err := admitScript.Run(ctx, s.rdb, []string{s.k.pushOrder(workload)},
		orderTime(at), tag, PushOrderTTL.Milliseconds()).Slice()
	if err != nil {
		return false, "", fmt.Errorf("admit push of %s:%s: %w", workload, tag, err)
	}
	if len(res) != 2 {
		return false, "", fmt.Errorf("admit push of %s:%s: unexpected answer %v", workload, tag, res)
	}
	ok, _ := res[0].(int64)
	newer, _ := res[1].(string)
	return ok == 1, newer, nil
}

// orderTime is at as 20 decimal digits of nanoseconds since 1970, clamped
// to what an int64 holds, so that string order is time order.
func orderTime(at time.Time) string {
	var ns int64
	switch {
	case at.Before(time.Unix(0, 0)):
		ns = 0
	case at.After(time.Unix(0, math.MaxInt64)):
		ns = math.MaxInt64
	default:
		ns = at.UnixNano()
	}
	return fmt.Sprintf("%020d", ns)
}
