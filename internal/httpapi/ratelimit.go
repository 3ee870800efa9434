package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// Failed-authentication budget of one remote on one route: a burst, then
// one attempt per interval. A registry with the right token never spends it.
const (
	// AuthFailBurst is how many refusals a remote gets on a route before
	// it is answered 429.
	AuthFailBurst    = 20
	authFailInterval = 3 * time.Second
	// authFailKeys bounds the number of remotes tracked at once; beyond,
	// the least recently used is forgotten.
	authFailKeys = 10000
)

// AuthLimiter counts the requests each remote gets refused with 401 or
// 403, per route. Once a remote's budget is spent it gets 429 at once,
// before its body is read or a line is logged, so a flood of bad requests
// costs next to nothing and cannot crowd out real deliveries from other
// sources. A request carrying a valid bearer token (webhook or API) is
// never limited, even from a flooding address; sources whose signature
// covers the body (HMAC) are limited by address until the budget refills.
type AuthLimiter struct {
	every    rate.Limit
	burst    int
	valid    func(*http.Request) bool
	log      zerolog.Logger
	mu       sync.Mutex
	failures *bucketLRU
}

type failBucket struct {
	lim     *rate.Limiter
	limited bool // a 429 was logged for the current run of refusals
}

// NewAuthLimiter returns a limiter; valid reports whether a request
// carries a valid token (such a request is never limited).
func NewAuthLimiter(log zerolog.Logger, valid func(*http.Request) bool) *AuthLimiter {
	return &AuthLimiter{
		every: rate.Every(authFailInterval), burst: AuthFailBurst,
		valid: valid, log: log, failures: newBucketLRU(authFailKeys),
	}
}

// Middleware wraps every route of the router.
func (a *AuthLimiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote, route := remoteKey(r.RemoteAddr), routeName(r)
		key := route + " " + remote
		if !a.valid(r) && a.spent(key, remote, route) {
			w.Header().Set("Retry-After", strconv.Itoa(max(int(math.Ceil(1/float64(a.every))), 1)))
			w.Header().Set("Connection", "close")
			WriteJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many failed authentications from this address: retry later"})
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusUnauthorized || sw.status == http.StatusForbidden {
			a.fail(key)
		}
	})
}

// spent reports whether key has no failed attempt left, logging the
// first refusal of each run. The log names the route's template
// (/v1/hooks/dockerhub/{token}), never the request's path, which may
// carry a token.
func (a *AuthLimiter) spent(key, remote, route string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.failures.get(key)
	if b == nil {
		return false
	}
	if b.lim.Tokens() >= 1 {
		b.limited = false
		return false
	}
	if !b.limited {
		b.limited = true
		a.log.Warn().Str("remote", remote).Str("route", route).
			Msg("too many failed authentications: answering 429 until the budget refills")
	}
	return true
}

// fail spends one attempt of key.
func (a *AuthLimiter) fail(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.failures.get(key)
	if b == nil {
		b = &failBucket{lim: rate.NewLimiter(a.every, a.burst)}
		a.failures.add(key, b)
	}
	b.lim.Allow()
}

// routeName is the matched route's path template, so that one remote's
// budget on one endpoint does not cover another.
func routeName(r *http.Request) string {
	if rt := mux.CurrentRoute(r); rt != nil {
		if tpl, err := rt.GetPathTemplate(); err == nil {
			return tpl
		}
	}
	return r.URL.Path
}

// remoteKey is the client address the budget is kept for: the IP, or its
// /64 for IPv6, where one host commonly holds a whole /64.
func remoteKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
