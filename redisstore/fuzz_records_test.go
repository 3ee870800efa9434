package redisstore

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// FuzzRecords writes arbitrary bytes where each kind of record lives in a
// real Redis (an inbox entry, a history event, an instance, a route, a
// journal, a registry, an env override) and reads them back through the
// store: a damaged record is an error naming what was read, or (inbox) an
// entry without a workload that the consumer drops. Never a panic.
func FuzzRecords(f *testing.F) {
	f.Add(`{"workload":"web","tag":"v1","image":"r/web","source":"s","received":"2025-01-02T03:04:05Z"}`)
	f.Add(`{"id":"c1","workload":"web","routes":{"a":"b"},"created":"2025-01-02T03:04:05Z"}`)
	f.Add(`{"time":"x"}`)
	f.Add(`null`)
	f.Add(`[`)
	f.Add("\x00\xff")
	srv := testsvc.Redis(f)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	f.Cleanup(func() { _ = rdb.Close() })
	s := New(rdb, "fuzz-"+testsvc.RunID+":")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		k := s.k
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		_ = s.EnsureInbox(ctx)
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: k.inbox(), Values: []any{entryField, raw}})
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: k.events("web"), Values: []any{eventField, raw}})
		rdb.HSet(ctx, k.instances(), "c1", raw)
		rdb.SAdd(ctx, k.workloadInstances("web"), "c1")
		rdb.HSet(ctx, k.routes(), "r1", raw)
		rdb.SAdd(ctx, k.workloadRoutes("web"), "r1")
		rdb.HSet(ctx, k.journals(), "d1", raw)
		rdb.HSet(ctx, k.registries(), "reg", raw)
		rdb.HSet(ctx, k.env("web"), "KEY", raw)

		entries, err := s.ReadInbox(ctx, "fuzz", 10, 0)
		if err != nil || len(entries) != 1 || entries[0].ID == "" {
			t.Fatalf("inbox: %+v, %v", entries, err)
		}
		if _, err := s.Events(ctx, "web", 0); err != nil && !strings.Contains(err.Error(), "events of web") {
			t.Fatalf("events error does not say what: %v", err)
		}
		for what, read := range map[string]func() error{
			"instances": func() error { _, err := s.Instances(ctx, "web"); return err },
			"routes":    func() error { _, err := s.Routes(ctx, "web"); return err },
			"journals":  func() error { _, err := s.Journals(ctx); return err },
			"registry":  func() error { _, err := s.GetRegistry(ctx, "reg"); return err },
			"env":       func() error { _, err := s.GetEnv(ctx, "web"); return err },
			"inbox ack": func() error { return s.AckInbox(ctx, entries[0].ID) },
		} {
			if err := read(); err != nil && err.Error() == "" {
				t.Fatalf("%s: empty error", what)
			}
		}
	})
}
