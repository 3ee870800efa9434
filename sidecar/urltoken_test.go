package sidecar

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/internal/httpapi"
)

// TestURLTokensNeverLoggedWhenLimited: a Docker Hub or Quay token in the
// URL (here an old one a registry still sends) is masked before the
// failed-authentication limiter runs, so its 429 line, and every other
// line, names the route and never the token.
func TestURLTokensNeverLoggedWhenLimited(t *testing.T) {
	const stale = "stale-dockerhub-token-0123456789"
	s, logs := newHTTPSidecar(t, secAPIToken, secHookToken)
	url := serve(t, s)
	c := clientFrom("127.0.0.3")
	for _, path := range []string{"/v1/hooks/dockerhub/" + stale, "/v1/hooks/quay?token=" + stale} {
		codes := map[int]int{}
		for range httpapi.AuthFailBurst + 5 {
			code, _ := do(t, c, http.MethodPost, url+path, "", []byte(`{}`))
			codes[code]++
		}
		if codes[http.StatusUnauthorized] != httpapi.AuthFailBurst || codes[http.StatusTooManyRequests] != 5 {
			t.Fatalf("%s: answers %v, want %d x 401 then 429s", strings.Replace(path, stale, "<stale>", 1), codes, httpapi.AuthFailBurst)
		}
	}
	log := logs.String()
	if strings.Contains(log, stale) {
		t.Fatal("a URL token reached the sidecar log")
	}
	if !strings.Contains(log, `"route":"/v1/hooks/dockerhub/{token}"`) || !strings.Contains(log, "too many failed authentications") {
		t.Fatalf("no 429 line naming the route:\n%s", log)
	}
}
