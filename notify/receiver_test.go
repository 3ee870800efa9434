package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// request is what a receiver got.
type request struct {
	Path   string
	Header http.Header
	Body   string
}

// receiver is a real HTTP server recording every request; fail decides,
// per request number (from 1), the status to answer.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []request
	fail func(n int) int
	// answer is the body of a 2xx answer.
	answer string
}

func newReceiver(t *testing.T, fail func(n int) int) *receiver {
	t.Helper()
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{Path: req.URL.Path, Header: req.Header.Clone(), Body: string(body)})
		n := len(r.got)
		answer := r.answer
		r.mu.Unlock()
		if r.fail != nil {
			if code := r.fail(n); code != 0 {
				http.Error(w, "receiver says no", code)
				return
			}
		}
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) addr() string { return r.srv.Listener.Addr().String() }

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

// waitFor waits until the receiver has n requests, failing after 5s.
func (r *receiver) waitFor(t *testing.T, n int) []request {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.requests(); len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("receiver got %d requests, want %d", len(r.requests()), n)
	return nil
}

// jsonMessage decodes a generic webhook's template=json body.
func jsonMessage(t *testing.T, req request) (title, message string) {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(req.Body), &m); err != nil {
		t.Fatalf("body %q: %v", req.Body, err)
	}
	return m["title"], m["message"]
}

// reports records the outcomes Options.Report was told.
type reports struct {
	mu  sync.Mutex
	got map[string]int // "target outcome" -> count
}

func (r *reports) report(target, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string]int{}
	}
	r.got[target+" "+outcome]++
}

func (r *reports) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[key]
}

func (r *reports) waitFor(t *testing.T, key string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if r.count(key) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("report %q counted %d times, want %d", key, r.count(key), n)
}
