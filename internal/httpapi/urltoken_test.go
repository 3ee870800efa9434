package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"
)

// TestURLTokenHiddenBeforeTheLimiterLogs: with HideURLToken as the first
// middleware, the limiter's 429 line (and every later one) names the
// route, never a token from the path or the query; the handler, wrapped
// a second time, still gets the token.
func TestURLTokenHiddenBeforeTheLimiterLogs(t *testing.T) {
	const secret = "url-token-that-must-not-be-logged"
	var logs bytes.Buffer
	log := zerolog.New(&logs)
	r := mux.NewRouter()
	r.Use(HideURLToken, NewAuthLimiter(log, func(*http.Request) bool { return false }).Middleware)
	var got []string
	handler := Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		got = append(got, URLToken(r))
		return Errorf(http.StatusUnauthorized, "wrong token in the URL")
	})
	r.Handle("/hooks/x/{token}", HideURLToken(handler))
	r.Handle("/hooks/y", HideURLToken(handler))

	for _, target := range []string{"/hooks/x/" + secret, "/hooks/y?token=" + secret} {
		codes := map[int]int{}
		for range AuthFailBurst + 3 {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, target, nil))
			codes[w.Code]++
		}
		if codes[http.StatusUnauthorized] != AuthFailBurst || codes[http.StatusTooManyRequests] != 3 {
			t.Fatalf("%s: answers %v", target, codes)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("a URL token reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"route":"/hooks/x/{token}"`) {
		t.Fatalf("the 429 line does not name the route:\n%s", logs.String())
	}
	for _, tok := range got {
		if tok != secret {
			t.Fatalf("handler got token %q, want the request's", tok)
		}
	}
}
