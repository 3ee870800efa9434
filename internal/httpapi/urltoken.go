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
// masks it in the URL, so no log line or error ever shows it.
func HideURLToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, inPath := mux.Vars(r)["token"]
		q := r.URL.Query()
		if !inPath {
			tok = q.Get("token")
		}
		r = r.Clone(context.WithValue(r.Context(), urlTokenKey{}, tok))
		if inPath {
			r.URL.Path = strings.TrimSuffix(r.URL.Path, tok) + "xxxxx"
			r.URL.RawPath = ""
		}
		if q.Has("token") {
			q.Set("token", "xxxxx")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}
