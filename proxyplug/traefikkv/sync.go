package traefikkv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// notifyFlags are the keyspace-notification classes Traefik's Redis
// provider needs: keyspace (K) and keyevent (E) channels for all (A)
// commands.
const notifyFlags = "KEA"

// Resync re-asserts every owned route: the ones this process wrote (the
// newest truth) and the ones the record in Redis holds, all in one
// MULTI/EXEC. It deletes nothing: a record that lost a route must not
// take a live route down.
func (p *Plugin) Resync(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, err := p.record(ctx)
	if err != nil {
		return 0, fmt.Errorf("traefik-kv: resync: %w", err)
	}
	maps.Copy(rec, p.owned)
	set := map[string]string{}
	for _, r := range rec {
		maps.Copy(set, p.s.keys(r))
	}
	if err := p.write(ctx, nil, set, rec, nil); err != nil {
		return 0, fmt.Errorf("traefik-kv: resync %d routes: %w", len(rec), err)
	}
	p.owned = rec
	return len(rec), nil
}

// Run keeps the owned keys in Redis until ctx ends: it turns on keyspace
// notifications and re-asserts every route at start, then checks every
// CheckEvery and re-asserts after Redis was unreachable, restarted (a new
// run_id) or lost the ownership record.
func (p *Plugin) Run(ctx context.Context) error {
	log := p.opts.Log
	var runID string
	down := true
	t := time.NewTicker(p.opts.CheckEvery)
	defer t.Stop()
	for {
		id, hasRecord, err := p.probe(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if !down {
				log.Warn().Err(err).Msg("traefik-kv: redis unreachable; routes will be re-asserted when it answers")
			}
			down = true
		case down || id != runID || (!hasRecord && p.ownsAny()):
			why := "start"
			switch {
			case runID == "":
			case down:
				why = "reconnected"
			case id != runID:
				why = "redis restarted"
			default:
				why = "ownership record missing"
			}
			p.enableNotifications(ctx)
			n, err := p.Resync(ctx)
			if err != nil {
				log.Error().Err(err).Str("reason", why).Msg("traefik-kv: re-assert routes")
				break // try again at the next tick
			}
			log.Info().Int("routes", n).Str("reason", why).Msg("traefik-kv: routes re-asserted")
			runID, down = id, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Plugin) ownsAny() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.owned) > 0
}

// probe returns Redis's run_id (new after every restart) and whether the
// ownership record exists, in one round trip.
func (p *Plugin) probe(ctx context.Context) (string, bool, error) {
	pipe := p.rdb.Pipeline()
	info := pipe.Info(ctx, "server")
	exists := pipe.Exists(ctx, p.ownedKey())
	if _, err := pipe.Exec(ctx); err != nil {
		return "", false, err
	}
	for _, line := range strings.Split(info.Val(), "\n") {
		if v, ok := strings.CutPrefix(line, "run_id:"); ok {
			return strings.TrimSpace(v), exists.Val() > 0, nil
		}
	}
	return "", false, errors.New("INFO server has no run_id")
}

// enableNotifications adds KEA to notify-keyspace-events, keeping any
// other class already on. Managed Redis services often refuse CONFIG:
// then Traefik sees no change until its next full read, which is said
// clearly once per (re)connect.
func (p *Plugin) enableNotifications(ctx context.Context) {
	log := p.opts.Log
	cur, err := p.rdb.ConfigGet(ctx, "notify-keyspace-events").Result()
	if err == nil {
		want := mergeFlags(cur["notify-keyspace-events"], notifyFlags)
		if want == cur["notify-keyspace-events"] {
			return
		}
		if err = p.rdb.ConfigSet(ctx, "notify-keyspace-events", want).Err(); err == nil {
			log.Info().Str("notify_keyspace_events", want).Msg("traefik-kv: keyspace notifications enabled for Traefik")
			return
		}
	}
	log.Warn().Err(err).Msg("traefik-kv: cannot enable keyspace notifications (CONFIG refused): Traefik will not see route switches " +
		"until they are on; set notify-keyspace-events KEA in the Redis config or the provider's console")
}

// mergeFlags adds the classes in add missing from cur (Redis reports all
// of "A" as "A").
func mergeFlags(cur, add string) string {
	out := cur
	for _, c := range add {
		if !strings.ContainsRune(out, c) {
			out += string(c)
		}
	}
	return out
}
