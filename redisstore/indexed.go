package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Instances and routes share one shape: JSON values in a hash keyed by id,
// plus one set of ids per workload. The helpers below keep the two in step.

// putIndexed stores v at hash[id] and adds id to set in one MULTI/EXEC, so
// no reader sees the value without its index entry or the other way round.
func putIndexed(ctx context.Context, rdb redis.UniversalClient, hash, set, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, hash, id, b)
		p.SAdd(ctx, set, id)
		return nil
	})
	return err
}

// deleteIndexed removes hash[id] and its index entry; setOf names the set
// from the stored value. A missing id is not an error.
func deleteIndexed[T any](ctx context.Context, rdb redis.UniversalClient, hash, id string, setOf func(T) string) error {
	raw, err := rdb.HGet(ctx, hash, id).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return err
	}
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		// Unknown workload: drop the value; a stale index id is skipped on read.
		return rdb.HDel(ctx, hash, id).Err()
	}
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, hash, id)
		p.SRem(ctx, setOf(v), id)
		return nil
	})
	return err
}

// loadIndexed decodes every value of hash (set == "") or those whose ids
// are in set. Ids whose value is gone, or values keep rejects (a workload
// changed under a stale index), are skipped.
func loadIndexed[T any](ctx context.Context, rdb redis.UniversalClient, hash, set string, keep func(T) bool) ([]T, error) {
	var raws []string
	if set == "" {
		vals, err := rdb.HVals(ctx, hash).Result()
		if err != nil {
			return nil, err
		}
		raws = vals
	} else {
		ids, err := rdb.SMembers(ctx, set).Result()
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return []T{}, nil
		}
		vals, err := rdb.HMGet(ctx, hash, ids...).Result()
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			if s, ok := v.(string); ok {
				raws = append(raws, s)
			}
		}
	}
	out := make([]T, 0, len(raws))
	for _, raw := range raws {
		var v T
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return nil, fmt.Errorf("decode %s: %w", hash, err)
		}
		if keep(v) {
			out = append(out, v)
		}
	}
	return out, nil
}
