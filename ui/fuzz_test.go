package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/fuzzreq"
	"github.com/tinyforge/tinyforge/overview"
)

// downSource is a source whose store does not answer.
type downSource struct{ *fakeSource }

func (downSource) Status(context.Context) (overview.Status, error) {
	return overview.Status{}, errors.New("state store unavailable, retry later")
}

// FuzzPage drives the page's handler end to end with arbitrary requests
// (method, target, header lines, body; parsed as a server parses them),
// with or without a valid session cookie and its CSRF token, on a source
// that answers or one that fails. Whatever comes in: nothing panics; no
// 5xx but a 503, and that only when the source fails; without the session
// and its CSRF token no action reaches the source, and a request that
// carries no secret (token, session, CSRF token) gets no 2xx for a POST,
// no 303 but to the login form, and no session cookie.
func FuzzPage(f *testing.F) {
	for _, seed := range []struct {
		method, target string
		creds          uint8
		body           string
	}{
		{"GET", "/ui/", 1, ""},
		{"GET", "/ui/login", 0, ""},
		{"GET", "/ui/teardown?workload=old", 1, ""},
		{"GET", "/ui/stream", 1, ""},
		{"GET", "/ui/static/live.js", 0, ""},
		{"POST", "/ui/login", 0, "token=" + testToken},
		{"POST", "/ui/login", 0, "token=wrong"},
		{"POST", "/ui/deploy", 3, "workload=web&tag=v3"},
		{"POST", "/ui/rollback", 3, "workload=web&to=sha256:bad"},
		{"POST", "/ui/teardown", 3, "workload=old&confirm=old"},
		{"POST", "/ui/approve", 1, "workload=web"},
		{"POST", "/ui/reject", 2, "workload=web"},
		{"POST", "/ui/logout", 3, ""},
		{"POST", "/ui", 0, ""},
	} {
		for _, down := range []bool{false, true} {
			f.Add(down, seed.creds, seed.method, seed.target, "Content-Type: application/x-www-form-urlencoded\nOrigin: http://tinyforge.test", seed.body)
		}
	}

	now := time.Now()
	stream := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("stream")) })
	src := &fakeSource{st: sampleStatus(now)}
	up := New(Config{Token: testToken, Source: src, Stream: stream, Log: zerolog.Nop()})
	down := New(Config{Token: testToken, Source: downSource{src}, Stream: stream, Log: zerolog.Nop()})
	handlers := map[bool]http.Handler{false: up.Handler(), true: down.Handler()}
	sess, cookie := up.sessions.issue(now) // both pages share the token, so the key
	csrf := up.sessions.csrf(sess)

	f.Fuzz(func(t *testing.T, broken bool, creds uint8, method, target, header, body string) {
		// creds: 1 the session cookie, 2 its CSRF token appended to the body.
		if creds&2 != 0 {
			body += "&csrf=" + url.QueryEscape(csrf)
		}
		var extra []string
		if creds&1 != 0 {
			extra = append(extra, "Cookie: "+sessionCookie+"="+cookie)
		}
		req, rawText, ok := fuzzreq.Parse("tinyforge.test", method, target, header, extra, body)
		if !ok {
			return // a server answers 400 before any handler
		}
		req.RemoteAddr = "192.0.2.1:4242"
		before := len(src.Calls())
		w := httptest.NewRecorder()
		handlers[broken].ServeHTTP(w, req)
		resp := w.Result()
		what := fmt.Sprintf("%s %s (source down %t, creds %d) = %d %.200q", req.Method, req.URL, broken, creds, resp.StatusCode, w.Body.String())

		if resp.StatusCode < 200 || resp.StatusCode > 599 {
			t.Fatalf("%s: status out of range", what)
		}
		if resp.StatusCode >= 500 && (resp.StatusCode != http.StatusServiceUnavailable || !broken) {
			t.Fatalf("%s: a 5xx other than 503 while the source fails", what)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("%s: without the security headers", what)
		}
		hasSession, hasCSRF := strings.Contains(rawText, cookie), strings.Contains(rawText, csrf) || strings.Contains(rawText, url.QueryEscape(csrf))
		if !(hasSession && hasCSRF) && len(src.Calls()) != before {
			t.Fatalf("%s: an action reached the source without the session and its CSRF token: %q", what, src.Calls()[before:])
		}
		if hasSession || hasCSRF || strings.Contains(rawText, testToken) {
			return
		}
		if req.Method == http.MethodPost && resp.StatusCode < 300 {
			t.Fatalf("%s: a POST answered 2xx without any credential", what)
		}
		if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") != "/ui/login" {
			t.Fatalf("%s: 303 to %q (an action done, a login) without any credential", what, resp.Header.Get("Location"))
		}
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookie && c.Value != "" {
				t.Fatalf("%s: a session cookie without the token", what)
			}
		}
	})
}
