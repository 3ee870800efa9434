package redirect

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestSameHost: a redirect on the same host is followed; one to another
// host is refused and that host never sees a request.
func TestSameHost(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/here":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := Client(&http.Client{})
	resp, err := c.Get(srv.URL + "/here")
	if err != nil || resp.Request.URL.Path != "/ok" {
		t.Fatalf("same-host redirect: %v", err)
	}
	resp.Body.Close()
	if _, err := c.Get(srv.URL + "/away"); !errors.Is(err, ErrOtherHost) {
		t.Fatalf("redirect to another host: err %v, want ErrOtherHost", err)
	}
	if _, err := c.Get(srv.URL + "/loop"); err == nil {
		t.Fatal("redirect loop followed forever")
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the other host got %d requests", n)
	}
}
