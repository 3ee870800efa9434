package poller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/traefik/paerser/types"

	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/registryapi"
)

// fakeRegistry answers from maps, counting requests; err fails them all.
type fakeRegistry struct {
	mu       sync.Mutex
	digests  map[string]string // tag -> digest
	tags     []string
	err      error
	requests int
}

func (r *fakeRegistry) Digest(_ context.Context, _, tag string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.err != nil {
		return "", r.err
	}
	d, ok := r.digests[tag]
	if !ok {
		return "", fmt.Errorf("resolve %s: %w", tag, registryapi.ErrNotFound)
	}
	return d, nil
}

func (r *fakeRegistry) Tags(context.Context, string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	return r.tags, r.err
}

func (r *fakeRegistry) set(f func(r *fakeRegistry)) { r.mu.Lock(); f(r); r.mu.Unlock() }
func (r *fakeRegistry) count() int                  { r.mu.Lock(); defer r.mu.Unlock(); return r.requests }

// harness is a poller over one workload with a fake registry, serving
// state and inbox.
type harness struct {
	reg       *fakeRegistry
	mu        sync.Mutex
	workloads map[string]*labels.Workload
	serving   [2]string // tag, digest
	submitted []string  // tag@digest
	p         *Poller
}

func newHarness(t *testing.T, w *labels.Workload, allow func(string) error) *harness {
	h := &harness{reg: &fakeRegistry{digests: map[string]string{}}, workloads: map[string]*labels.Workload{w.Name: w}}
	h.p = New(Config{
		Workloads: func() map[string]*labels.Workload {
			h.mu.Lock()
			defer h.mu.Unlock()
			return map[string]*labels.Workload{w.Name: h.workloads[w.Name]}
		},
		Serving: func(context.Context, string) (string, string, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.serving[0], h.serving[1], nil
		},
		Registry: func(*labels.Workload) Registry { return h.reg },
		Submit: func(_ context.Context, w *labels.Workload, tag, digest string) (bool, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.submitted = append(h.submitted, tag+"@"+digest)
			return false, nil
		},
		Allow:  allow,
		Every:  20 * time.Millisecond,
		Resync: 10 * time.Millisecond,
		Log:    zerolog.Nop(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func (h *harness) subs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.submitted...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func polled(name string, extra func(w *labels.Workload)) *labels.Workload {
	w := &labels.Workload{Name: name, Image: "reg.test/app", Poll: types.Duration(time.Minute)}
	if extra != nil {
		extra(w)
	}
	return w
}

// TestPollSubmitsOnlyNewDigests: a digest that serves is never submitted;
// a new one is submitted once, however many polls see it; the next one
// again once.
func TestPollSubmitsOnlyNewDigests(t *testing.T) {
	h := newHarness(t, polled("web", nil), nil)
	h.reg.set(func(r *fakeRegistry) { r.digests["latest"] = "sha256:1" })
	h.mu.Lock()
	h.serving = [2]string{"latest", "sha256:1"}
	h.mu.Unlock()
	waitFor(t, "several polls", func() bool { return h.reg.count() >= 4 })
	if s := h.subs(); len(s) != 0 {
		t.Fatalf("submitted %v while the digest serves", s)
	}
	h.reg.set(func(r *fakeRegistry) { r.digests["latest"] = "sha256:2" })
	waitFor(t, "the new digest submitted", func() bool { return len(h.subs()) == 1 })
	n := h.reg.count()
	waitFor(t, "more polls", func() bool { return h.reg.count() >= n+4 })
	if s := h.subs(); len(s) != 1 || s[0] != "latest@sha256:2" {
		t.Fatalf("submitted %v, want latest@sha256:2 once", s)
	}
	st, ok := h.p.Status("web")
	if !ok || st.Submitted != "sha256:2" || st.Digest != "sha256:2" || st.Error != "" || st.Every != 20*time.Millisecond {
		t.Fatalf("status %+v", st)
	}
	h.reg.set(func(r *fakeRegistry) { r.digests["latest"] = "sha256:3" })
	waitFor(t, "the next digest submitted", func() bool { return len(h.subs()) == 2 })
}

// TestPollMissingTagIsNoFailure: a tag not pushed yet is no registry
// error: no backoff, a note in the status, and its first push is found.
func TestPollMissingTagIsNoFailure(t *testing.T) {
	h := newHarness(t, polled("web", nil), nil)
	waitFor(t, "polls of a missing tag", func() bool { return h.reg.count() >= 4 })
	st, _ := h.p.Status("web")
	if st.Failures != 0 || st.Error != "" || st.Note != "tag latest is not in the registry" {
		t.Fatalf("status %+v", st)
	}
	h.reg.set(func(r *fakeRegistry) { r.digests["latest"] = "sha256:1" })
	waitFor(t, "the first push submitted", func() bool { return len(h.subs()) == 1 })
}

// TestPollRegistryErrorBacksOff: a failing registry submits nothing, is
// reported in the status with the failures counted, and is asked less
// and less often.
func TestPollRegistryErrorBacksOff(t *testing.T) {
	h := newHarness(t, polled("web", nil), nil)
	h.reg.set(func(r *fakeRegistry) { r.err = errors.New("HEAD: 503 Service Unavailable") })
	waitFor(t, "three failures", func() bool { st, _ := h.p.Status("web"); return st.Failures >= 3 })
	st, _ := h.p.Status("web")
	if st.Error != "HEAD: 503 Service Unavailable" {
		t.Fatalf("status error %q", st.Error)
	}
	if s := h.subs(); len(s) != 0 {
		t.Fatalf("submitted %v on registry errors", s)
	}
	// Backed off: 8 intervals (160 ms) between polls now.
	n := h.reg.count()
	time.Sleep(100 * time.Millisecond)
	if got := h.reg.count() - n; got > 1 {
		t.Fatalf("%d requests in 100 ms after 3 failures: no backoff", got)
	}
	h.reg.set(func(r *fakeRegistry) { r.err = nil; r.digests["latest"] = "sha256:9" })
	waitFor(t, "recovered and submitted", func() bool { return len(h.subs()) == 1 })
	waitFor(t, "error cleared", func() bool { st, _ := h.p.Status("web"); return st.Error == "" && st.Failures == 0 })
}

// TestPollSemverNewestAllowed: under a semver policy the newest allowed
// tag newer than the serving one is resolved and submitted; with nothing
// newer, nothing is asked beyond the tag list.
func TestPollSemverNewestAllowed(t *testing.T) {
	h := newHarness(t, polled("api", func(w *labels.Workload) { w.Policy = "semver-minor" }), nil)
	h.mu.Lock()
	h.serving = [2]string{"v1.2.0", "sha256:120"}
	h.mu.Unlock()
	h.reg.set(func(r *fakeRegistry) {
		r.tags = []string{"latest", "v1.1.0", "v1.2.0", "v1.3.0", "v2.0.0"}
		r.digests = map[string]string{"v1.3.0": "sha256:130", "v2.0.0": "sha256:200", "latest": "sha256:200"}
	})
	waitFor(t, "v1.3.0 submitted", func() bool { return len(h.subs()) == 1 })
	if s := h.subs(); s[0] != "v1.3.0@sha256:130" {
		t.Fatalf("submitted %v, want v1.3.0", s)
	}
	h.mu.Lock()
	h.serving = [2]string{"v1.3.0", "sha256:130"}
	h.mu.Unlock()
	waitFor(t, "status says nothing newer", func() bool { st, _ := h.p.Status("api"); return st.Tag == "" && !st.Last.IsZero() && st.Error == "" })
	if s := h.subs(); len(s) != 1 {
		t.Fatalf("submitted %v, want nothing more (v2.0.0 changes the major)", s)
	}
}

// TestPollAllowedImagesFirst: an image outside --allowed-images gets no
// request at all, and the status says why.
func TestPollAllowedImagesFirst(t *testing.T) {
	h := newHarness(t, polled("web", nil), func(ref string) error { return errors.New(ref + " is not in --allowed-images") })
	waitFor(t, "refusal reported", func() bool { st, _ := h.p.Status("web"); return st.Failures > 0 })
	st, _ := h.p.Status("web")
	if st.Error != "not polled: reg.test/app:latest is not in --allowed-images" || h.reg.count() != 0 {
		t.Fatalf("status %q after %d registry requests", st.Error, h.reg.count())
	}
}

// TestPollFollowsLabels: removing the poll label stops the workload's
// poller, setting it again starts one.
func TestPollFollowsLabels(t *testing.T) {
	w := polled("web", nil)
	h := newHarness(t, w, nil)
	h.reg.set(func(r *fakeRegistry) { r.digests["latest"] = "sha256:1" })
	waitFor(t, "polling", func() bool { return h.reg.count() > 0 })
	off := *w
	off.Poll = 0
	h.mu.Lock()
	h.workloads["web"] = &off
	h.mu.Unlock()
	h.p.Refresh()
	waitFor(t, "stopped", func() bool { _, ok := h.p.Status("web"); return !ok })
	n := h.reg.count()
	time.Sleep(80 * time.Millisecond)
	if h.reg.count() != n {
		t.Fatal("still polling after the poll label went")
	}
	h.mu.Lock()
	h.workloads["web"] = w
	h.mu.Unlock()
	h.p.Refresh()
	waitFor(t, "polling again", func() bool { return h.reg.count() > n })
}
