package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
)

// AppendEvent adds ev to the workload's history stream, trimming it to
// about HistoryLen entries so history never grows without bound.
func (s *Store) AppendEvent(ctx context.Context, workload string, ev deployer.Event) error {
	if workload == "" {
		return errors.New("append event: empty workload")
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("append event for %s: encode: %w", workload, err)
	}
	err = s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: s.k.events(workload),
		MaxLen: HistoryLen,
		Approx: true,
		Values: []any{eventField, string(b)},
	}).Err()
	if err != nil {
		return fmt.Errorf("append event for %s: %w", workload, err)
	}
	return nil
}

// Events returns the newest n events of workload, newest first; n <= 0
// returns all that are kept. An unknown workload has no events.
func (s *Store) Events(ctx context.Context, workload string, n int64) ([]deployer.Event, error) {
	return s.readEvents(ctx, s.k.events(workload), "events of "+workload, n)
}

func (s *Store) readEvents(ctx context.Context, key, what string, n int64) ([]deployer.Event, error) {
	var cmd *redis.XMessageSliceCmd
	if n > 0 {
		cmd = s.rdb.XRevRangeN(ctx, key, "+", "-", n)
	} else {
		cmd = s.rdb.XRevRange(ctx, key, "+", "-")
	}
	msgs, err := cmd.Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	out := make([]deployer.Event, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values[eventField].(string)
		var ev deployer.Event
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			return nil, fmt.Errorf("read %s: decode entry %s: %w", what, m.ID, err)
		}
		out = append(out, ev)
	}
	return out, nil
}
