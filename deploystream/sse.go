package deploystream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Stream timings: a comment line every Heartbeat keeps proxies and load
// balancers from closing an idle stream; a write that takes longer than
// WriteTimeout drops the client.
const (
	DefaultHeartbeat = 15 * time.Second
	WriteTimeout     = 10 * time.Second
)

// Handler serves the hub as Server-Sent Events: one "step" or "finished"
// event per message, data the Event as JSON, id its sequence number. It
// authenticates nothing: the caller mounts it behind the API token or the
// status page's session.
type Handler struct {
	Hub       *Hub
	Heartbeat time.Duration // DefaultHeartbeat when 0
}

// ServeHTTP streams the events of ?workload= (every workload when empty)
// until the client leaves, falls behind, or the hub closes.
func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sub, ok := h.Hub.Subscribe(r.URL.Query().Get("workload"))
	if !ok {
		http.Error(w, `{"error":"shutting down"}`, http.StatusServiceUnavailable)
		return
	}
	defer h.Hub.Unsubscribe(sub)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) bool {
		// The server's WriteTimeout would cut every stream after it; each
		// write gets its own deadline instead.
		_ = rc.SetWriteDeadline(time.Now().Add(WriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 3000\n: connected\n\n") {
		return
	}
	beat := time.NewTicker(max(h.Heartbeat, time.Millisecond))
	if h.Heartbeat == 0 {
		beat.Reset(DefaultHeartbeat)
	}
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			if !send(": heartbeat\n\n") {
				return
			}
		case ev, open := <-sub.C:
			if !open {
				if h.Hub.Dropped(sub) {
					send("event: dropped\ndata: {\"error\":\"client fell behind; reconnect and read /v1/workloads/{name}/deploys for what was missed\"}\n\n")
				}
				return
			}
			data, err := json.Marshal(ev.Event)
			if err != nil || !send("id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data) {
				return
			}
		}
	}
}
