package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"
)

// refusing is a router whose one route refuses everyone (401), behind lim.
func refusing(lim *AuthLimiter) http.Handler {
	r := mux.NewRouter()
	r.Use(lim.Middleware)
	r.Handle("/hook", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	return r
}

func from(h http.Handler, remote string) int {
	req := httptest.NewRequest(http.MethodPost, "/hook", nil)
	req.RemoteAddr = remote + ":1234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// TestLimiterEvictsLeastRecentlyUsed: when the tracked addresses are at
// the bound, a new one evicts the least recently used bucket only. A
// flooding address keeps its spent budget however many other addresses
// come and go (before, the whole table was cleared at the bound and the
// flooder got a fresh budget).
func TestLimiterEvictsLeastRecentlyUsed(t *testing.T) {
	lim := NewAuthLimiter(zerolog.Nop(), func(*http.Request) bool { return false })
	lim.failures = newBucketLRU(3)
	h := refusing(lim)
	const flooder = "10.0.0.1"
	for range AuthFailBurst {
		if code := from(h, flooder); code != http.StatusUnauthorized {
			t.Fatalf("within the budget: %d", code)
		}
	}
	for i := range 50 { // other addresses, each failing once, while the flooder goes on
		if code := from(h, fmt.Sprintf("10.0.1.%d", i)); code != http.StatusUnauthorized {
			t.Fatalf("address %d: %d, want 401 (its own budget)", i, code)
		}
		if code := from(h, flooder); code != http.StatusTooManyRequests {
			t.Fatalf("flooder after %d other addresses: %d, want 429", i+1, code)
		}
		if n := lim.failures.len(); n > 3 {
			t.Fatalf("%d buckets held, bound 3", n)
		}
	}
}

func TestBucketLRU(t *testing.T) {
	c := newBucketLRU(2)
	a, b, d := &failBucket{}, &failBucket{}, &failBucket{}
	c.add("a", a)
	c.add("b", b)
	if c.get("a") != a { // a is now the most recently used
		t.Fatal("a lost")
	}
	c.add("d", d) // evicts b
	if c.get("b") != nil || c.get("a") != a || c.get("d") != d || c.len() != 2 {
		t.Fatalf("after eviction: b=%v a=%v d=%v len=%d", c.get("b"), c.get("a"), c.get("d"), c.len())
	}
}
