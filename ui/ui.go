package ui

import (
	"context"
	"crypto/subtle"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/overview"
)

// Source is what the page reads and does. The sidecar implements it with
// the functions behind GET /v1/workloads, POST /v1/deploy, POST
// /v1/workloads/{name}/rollback, approve and reject, and DELETE
// /v1/workloads/{name}; an error
// a person can act on says so in its message.
type Source interface {
	Status(ctx context.Context) (overview.Status, error)
	// Deploy asks for workload to run tag ("" = its default tag).
	Deploy(ctx context.Context, workload, tag string) (string, error)
	// Rollback asks for workload to go back to to (a digest or a tag; ""
	// = the previous good image).
	Rollback(ctx context.Context, workload, to string) (string, error)
	// Teardown removes an orphaned workload.
	Teardown(ctx context.Context, workload string) (string, error)
	// Approve deploys the workload's delivery pending approval; Reject
	// drops it.
	Approve(ctx context.Context, workload string) (string, error)
	Reject(ctx context.Context, workload string) (string, error)
}

// Config wires the page.
type Config struct {
	// Token is the API token a person logs in with; without one the page
	// is off (403), as the management API is.
	Token  string
	Source Source
	// Stream serves the deploy stream (Server-Sent Events) the live view
	// reads, at /ui/stream behind the session.
	Stream http.Handler
	// SessionTTL is how long a login lasts (default 12 h).
	SessionTTL time.Duration
	Log        zerolog.Logger
	Now        func() time.Time // default time.Now
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// UI is the status page.
type UI struct {
	cfg      Config
	sessions sessions
	pages    *template.Template
}

// New returns the page; mount Handler at /ui/.
func New(cfg Config) *UI {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &UI{
		cfg:      cfg,
		sessions: newSessions(cfg.Token, cfg.SessionTTL),
		pages:    template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")),
	}
}

// Handler serves everything under /ui/.
func (u *UI) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", staticFiles(static)))
	mux.HandleFunc("GET /ui/login", u.loginPage)
	mux.HandleFunc("POST /ui/login", u.login)
	mux.HandleFunc("POST /ui/logout", u.action(u.logout))
	mux.HandleFunc("GET /ui/{$}", u.page(u.statusPage))
	mux.HandleFunc("GET /ui/stream", u.page(func(w http.ResponseWriter, r *http.Request, _ session) { u.cfg.Stream.ServeHTTP(w, r) }))
	mux.HandleFunc("GET /ui/teardown", u.page(u.teardownPage))
	mux.HandleFunc("POST /ui/deploy", u.action(u.deploy))
	mux.HandleFunc("POST /ui/rollback", u.action(u.rollback))
	mux.HandleFunc("POST /ui/teardown", u.action(u.teardown))
	mux.HandleFunc("POST /ui/approve", u.action(u.approve))
	mux.HandleFunc("POST /ui/reject", u.action(u.reject))
	mux.HandleFunc("/ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusMovedPermanently) })
	return securityHeaders(mux)
}

// securityHeaders keeps the page out of frames and off other origins'
// scripts, styles and forms, and out of caches.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: with no-referrer browsers send
		// "Origin: null" on the page's own form posts.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// enabled answers 403 while no API token is configured.
func (u *UI) enabled(w http.ResponseWriter) bool {
	if u.cfg.Token == "" {
		http.Error(w, "status page disabled: set --api-token", http.StatusForbidden)
		return false
	}
	return true
}

// current is the request's valid session, if any.
func (u *UI) current(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	sess, err := u.sessions.check(c.Value, u.cfg.Now())
	return sess, err == nil
}

// page guards a GET: without a session a person is sent to the login
// form (the stream, read by scripts, gets a 401).
func (u *UI) page(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !u.enabled(w) {
			return
		}
		sess, ok := u.current(r)
		if !ok {
			if r.URL.Path == "/ui/stream" {
				http.Error(w, "log in at /ui/login", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		h(w, r, sess)
	}
}

// action guards a POST: a valid session, a same-origin request (when the
// browser says where it comes from) and the session's CSRF token.
func (u *UI) action(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !u.enabled(w) {
			return
		}
		sess, ok := u.current(r)
		if !ok {
			http.Error(w, "not logged in: log in at /ui/login", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "read form: "+err.Error(), http.StatusBadRequest)
			return
		}
		if !sameOrigin(r) || !u.sessions.checkCSRF(sess, r.PostFormValue("csrf")) {
			u.cfg.Log.Warn().Str("path", r.URL.Path).Str("remote", r.RemoteAddr).Msg("status page action refused: CSRF token or origin wrong")
			http.Error(w, "CSRF check failed: reload the page and try again", http.StatusForbidden)
			return
		}
		h(w, r, sess)
	}
}

// sameOrigin reports whether a browser's Origin header (when sent) names
// the host the request went to.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	return o == "http://"+r.Host || o == "https://"+r.Host
}

// secure reports whether the client reached the page over HTTPS, directly
// or through a proxy that says so: the cookie is then Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// tokenMatches compares a submitted token in constant time.
func tokenMatches(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// staticFiles serves the page's own files. A name that is no file name at
// all (not valid UTF-8, say) is not found: http.FileServerFS would answer
// 500 for it, as if the server had failed.
func staticFiles(files fs.FS) http.Handler {
	srv := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name := strings.TrimPrefix(r.URL.Path, "/"); name != "" && !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	})
}
