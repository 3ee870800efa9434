package sidecar

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/deploystream"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/httpapi"
)

// logLine is one line of GET /v1/workloads/{name}/logs (NDJSON): a line
// the serving container wrote, named, so a follower sees where a deploy
// switched containers.
type logLine struct {
	Container string `json:"container"`
	dockerhost.LogLine
}

// logRepoll is how often a follower whose container stopped looks for the
// container that serves now.
const logRepoll = 2 * time.Second

// workloadLogs streams the logs of the container serving a workload as
// NDJSON: ?tail=N lines (default 100) or those ?since= (a duration ago,
// or an RFC 3339 time); with ?follow=true it goes on, and when a deploy
// switches the workload to a new container it follows that one from its
// start (container names change per deploy). It ends when the client
// leaves or the sidecar shuts down.
func (s *Sidecar) workloadLogs(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	q := r.URL.Query()
	follow := q.Get("follow") == "true" || q.Get("follow") == "1"
	since, err := parseSince(q.Get("since"), time.Now())
	if err != nil {
		return err
	}
	tail := 100
	if v := q.Get("tail"); v != "" {
		if tail, err = strconv.Atoi(v); err != nil || tail < 0 {
			return httpapi.Errorf(http.StatusBadRequest, "tail="+strconv.Quote(v)+": want a count >= 0")
		}
	}
	ctx := r.Context()
	c, ok := s.servingContainer(ctx, name)
	if !ok {
		return httpapi.Errorf(http.StatusNotFound, "no container serves workload "+strconv.Quote(name))
	}
	var sub *deploystream.Sub
	if follow {
		if sub, ok = s.stream.Subscribe(name); !ok {
			return httpapi.Errorf(http.StatusServiceUnavailable, "shutting down")
		}
		defer s.stream.Unsubscribe(sub)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &ndjson{w: w, rc: http.NewResponseController(w)}
	for {
		var last time.Time
		began := time.Now()
		err := s.followContainer(ctx, c, since, tail, follow, sub, func(l dockerhost.LogLine) error {
			last = l.Time
			return out.write(logLine{Container: c.Name, LogLine: l})
		})
		if !follow || ctx.Err() != nil || out.err != nil {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			s.log.Debug().Err(err).Str("container", c.Name).Msg("logs stream ended")
		}
		// The container's log ended or a deploy finished: follow whatever
		// serves now, from its start when it is new.
		next, ok := s.servingContainer(ctx, name)
		switch {
		case ok && next.ID != c.ID:
			c, since, tail = next, next.Created, 0
			continue
		case last.IsZero():
			since, tail = began, 0
		default:
			since, tail = last.Add(time.Nanosecond), 0
		}
		if (!ok || !next.Running) && !waitFor(ctx, sub, s.stream.Done(), logRepoll) {
			return nil
		}
	}
}

// followContainer streams one container's logs until they end, or, when
// following, until a deploy of the workload finishes (the caller then
// looks for the container that serves now) or the sidecar shuts down.
func (s *Sidecar) followContainer(ctx context.Context, c deployer.Container, since time.Time, tail int, follow bool,
	sub *deploystream.Sub, fn func(dockerhost.LogLine) error) error {
	if !follow {
		return s.docker.Logs(ctx, c.ID, since, tail, false, fn)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if waitFor(ctx, sub, s.stream.Done(), 0) {
			cancel()
		}
	}()
	return s.docker.Logs(ctx, c.ID, since, tail, true, fn)
}

// waitFor waits for a finished deploy on sub, for poll (0: no poll) or for
// ctx; it reports false when ctx ended or the sidecar shuts down.
func waitFor(ctx context.Context, sub *deploystream.Sub, shutdown <-chan struct{}, poll time.Duration) bool {
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTimer(poll)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-shutdown:
			return false
		case <-tick:
			return true
		case ev, open := <-sub.C:
			if !open {
				return false
			}
			if ev.Type == deploystream.TypeFinished {
				return true
			}
		}
	}
}

// servingContainer is the container serving workload now.
func (s *Sidecar) servingContainer(ctx context.Context, workload string) (deployer.Container, bool) {
	cs, err := s.engine.Containers(ctx, workload)
	if err != nil {
		return deployer.Container{}, false
	}
	return s.serving(ctx, workload, cs)
}

// parseSince reads ?since=: a duration ago (10m) or an RFC 3339 time.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, httpapi.Errorf(http.StatusBadRequest, "since="+strconv.Quote(v)+": want a duration (10m) or an RFC 3339 time")
}

// ndjson writes one JSON value per line, each flushed under its own write
// deadline (the server's WriteTimeout would cut a followed stream).
type ndjson struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (o *ndjson) write(v any) error {
	if o.err != nil {
		return o.err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = o.rc.SetWriteDeadline(time.Now().Add(deploystream.WriteTimeout))
	if _, o.err = o.w.Write(append(b, '\n')); o.err == nil {
		o.err = o.rc.Flush()
	}
	return o.err
}
