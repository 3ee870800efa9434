package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

type urlTokenKey struct{}

// URLToken is the token HideURLToken took from the request URL.
func URLToken(r *http.Request) string {
	tok, _ := r.Context().Value(urlTokenKey{}).(string)
	return tok
}

// HideURLToken moves the token of a token-in-URL webhook (path variable
// "token", or the token query parameter) into the request context and
// masks it in the URL and RequestURI, so no log line or error ever shows
// it. As the router's first middleware it runs before anything that could
// log; a second pass (a route wrapped as well) keeps the token the first
// one took.
func HideURLToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, done := r.Context().Value(urlTokenKey{}).(string); done {
			next.ServeHTTP(w, r)
			return
		}
		tok, inPath := mux.Vars(r)["token"]
		q := r.URL.Query()
		if !inPath {
			tok = q.Get("token")
		}
		r = r.Clone(context.WithValue(r.Context(), urlTokenKey{}, tok))
		if inPath {
			r.URL.Path = strings.TrimSuffix(r.URL.Path, tok) + masked
			r.URL.RawPath = ""
		}
		if q.Has("token") {
			q.Set("token", masked)
			r.URL.RawQuery = q.Encode()
		}
		if inPath || q.Has("token") {
			r.RequestURI = r.URL.RequestURI()
		}
		next.ServeHTTP(w, r)
	})
}

// masked stands in for a token in URLs.
const masked = "xxxxx"
