package ui

import (
	"bytes"
	"net/http"
	"net/url"
	"time"
)

// flashCookie carries the result of an action to the page it redirects to.
const flashCookie = "tinyforge_flash"

// loginPage shows the token form.
func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	if !u.enabled(w) {
		return
	}
	if _, ok := u.current(r); ok {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	u.render(w, http.StatusOK, "login.html", map[string]any{})
}

// login checks the API token and starts a session. A wrong token is a
// 401, which the sidecar's failed-authentication limiter counts.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	if !u.enabled(w) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !sameOrigin(r) || !tokenMatches(r.PostFormValue("token"), u.cfg.Token) {
		u.cfg.Log.Warn().Str("remote", r.RemoteAddr).Msg("status page login refused")
		u.render(w, http.StatusUnauthorized, "login.html", map[string]any{"Error": "That is not the API token."})
		return
	}
	sess, value := u.sessions.issue(u.cfg.Now())
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/ui/", Expires: sess.expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	})
	u.cfg.Log.Info().Str("remote", r.RemoteAddr).Msg("status page login")
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// logout ends the browser's session (the cookie is signed, not stored:
// logging out removes it from the browser).
func (u *UI) logout(w http.ResponseWriter, r *http.Request, _ session) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// statusPage is the page of every workload.
func (u *UI) statusPage(w http.ResponseWriter, r *http.Request, sess session) {
	st, err := u.cfg.Source.Status(r.Context())
	if err != nil {
		u.render(w, http.StatusServiceUnavailable, "error.html", map[string]any{"Error": err.Error()})
		return
	}
	v := buildView(st, u.cfg.Now())
	v.CSRF = u.sessions.csrf(sess)
	v.Flash, v.FlashOK = u.takeFlash(w, r)
	u.render(w, http.StatusOK, "status.html", v)
}

// teardownPage asks to confirm the teardown of an orphan.
func (u *UI) teardownPage(w http.ResponseWriter, r *http.Request, sess session) {
	name := r.URL.Query().Get("workload")
	st, err := u.cfg.Source.Status(r.Context())
	if err != nil {
		u.render(w, http.StatusServiceUnavailable, "error.html", map[string]any{"Error": err.Error()})
		return
	}
	o, orphaned := st.Orphans[name]
	if !orphaned {
		u.render(w, http.StatusNotFound, "error.html", map[string]any{"Error": "workload " + name + " is not orphaned: only orphans can be torn down here"})
		return
	}
	u.render(w, http.StatusOK, "teardown.html", map[string]any{"Workload": name, "Orphan": o, "CSRF": u.sessions.csrf(sess)})
}

// render executes a template into a buffer first, so a template error is
// a clean 500 rather than half a page.
func (u *UI) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := u.pages.ExecuteTemplate(&buf, name, data); err != nil {
		u.cfg.Log.Error().Err(err).Str("template", name).Msg("render status page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// done ends an action: the result is carried to the status page in a
// short-lived cookie, and the browser is sent there (POST-redirect-GET).
func (u *UI) done(w http.ResponseWriter, r *http.Request, msg string, ok bool) {
	v := "0"
	if ok {
		v = "1"
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(v + msg), Path: "/ui/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// takeFlash reads and clears the result of the last action.
func (u *UI) takeFlash(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", false
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/ui/", MaxAge: -1, Expires: time.Unix(1, 0),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	v, err := url.QueryUnescape(c.Value)
	if err != nil || v == "" {
		return "", false
	}
	return v[1:], v[0] == '1'
}
