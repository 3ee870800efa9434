package npm_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNPM implements the part of Nginx Proxy Manager's API the plugin
// uses, with NPM's validation (backend/schema: additionalProperties false,
// required fields, the domain pattern, port range, scheme enum, id
// minimums), its domain uniqueness check ("<domain> is already in use",
// 400), bearer tokens with an expiry (POST /api/tokens to log in, GET to
// renew), its error shape {"error":{"code":N,"message":"..."}} and the
// nginx -t outcome in meta.nginx_online/nginx_err.
type fakeNPM struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	now      time.Time
	lifetime time.Duration
	tokens   map[string]time.Time // token -> expiry
	hosts    map[int]map[string]any
	nextID   int
	logins   int
	renewals int
	// offline decides whether nginx -t fails for a host (it then goes
	// offline, its config set aside).
	offline func(h map[string]any) bool
	// nginx, when set, is a real nginx the fake renders every host into,
	// as NPM does: its own nginx -t decides nginx_online.
	nginx *nginxServer
}

const (
	npmUser = "admin@example.com"
	npmPass = "changeme"
)

func newFakeNPM(t *testing.T) *fakeNPM {
	t.Helper()
	f := &fakeNPM{
		t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), lifetime: 24 * time.Hour,
		tokens: map[string]time.Time{}, hosts: map[int]map[string]any{}, nextID: 1,
		offline: func(map[string]any) bool { return false },
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// clock is the fake's time, shared with the plugin under test.
func (f *fakeNPM) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeNPM) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fakeNPM) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]time.Time{}
}

func npmError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeNPM) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/api/tokens" && r.Method == http.MethodPost {
		var in map[string]any
		if json.NewDecoder(r.Body).Decode(&in) != nil {
			npmError(w, 400, "Invalid JSON")
			return
		}
		if in["identity"] != npmUser || in["secret"] != npmPass {
			npmError(w, 401, "Invalid email or password")
			return
		}
		f.logins++
		reply(w, 200, f.issue())
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if exp, known := f.tokens[tok]; !ok || !known || !f.now.Before(exp) {
		npmError(w, 401, "Permission Denied")
		return
	}
	if r.URL.Path == "/api/tokens" && r.Method == http.MethodGet {
		f.renewals++
		reply(w, 200, f.issue())
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/nginx/proxy-hosts")
	if !ok {
		npmError(w, 404, "Not Found")
		return
	}
	if rest == "" || rest == "/" {
		switch r.Method {
		case http.MethodGet:
			f.list(w)
		case http.MethodPost:
			f.create(w, r)
		default:
			npmError(w, 405, "Method Not Allowed")
		}
		return
	}
	id, err := strconv.Atoi(strings.TrimPrefix(rest, "/"))
	h, found := f.hosts[id]
	if err != nil || !found {
		npmError(w, 404, fmt.Sprintf("Not Found - %s", strings.TrimPrefix(rest, "/")))
		return
	}
	switch r.Method {
	case http.MethodGet:
		reply(w, 200, h)
	case http.MethodPut:
		f.update(w, r, id, h)
	case http.MethodDelete:
		delete(f.hosts, id)
		if f.nginx != nil {
			f.nginx.remove(id)
		}
		reply(w, 200, true)
	default:
		npmError(w, 405, "Method Not Allowed")
	}
}

func (f *fakeNPM) issue() map[string]string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	exp := f.now.Add(f.lifetime)
	f.tokens[tok] = exp
	return map[string]string{"token": tok, "expires": exp.Format(time.RFC3339)}
}

func (f *fakeNPM) list(w http.ResponseWriter) {
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(f.hosts)) {
		out = append(out, f.hosts[id])
	}
	reply(w, 200, out)
}

// writable are the properties NPM's POST/PUT schemas accept.
var writable = map[string]bool{
	"domain_names": true, "forward_scheme": true, "forward_host": true, "forward_port": true,
	"certificate_id": true, "ssl_forced": true, "hsts_enabled": true, "hsts_subdomains": true,
	"http2_support": true, "block_exploits": true, "caching_enabled": true,
	"allow_websocket_upgrade": true, "access_list_id": true, "advanced_config": true,
	"enabled": true, "meta": true, "locations": true,
}

var domainPattern = regexp.MustCompile("^[^&| @!#%^();:/\\\\}{=+?<>,~`'\"]+$")

// validate applies NPM's JSON schema to a POST (create) or PUT body.
func validate(in map[string]any, create bool) string {
	for k := range in {
		if !writable[k] {
			return fmt.Sprintf("data must NOT have additional properties (%s)", k)
		}
	}
	if create {
		for _, k := range []string{"domain_names", "forward_scheme", "forward_host", "forward_port"} {
			if _, ok := in[k]; !ok {
				return "data must have required property '" + k + "'"
			}
		}
	}
	if v, ok := in["domain_names"]; ok {
		list, ok := v.([]any)
		if !ok || len(list) < 1 || len(list) > 100 {
			return "data/domain_names must be an array of 1 to 100 items"
		}
		seen := map[string]bool{}
		for _, d := range list {
			s, ok := d.(string)
			if !ok || !domainPattern.MatchString(s) {
				return fmt.Sprintf("data/domain_names must match pattern (%v)", d)
			}
			if seen[s] {
				return "data/domain_names must NOT have duplicate items"
			}
			seen[s] = true
		}
	}
	if v, ok := in["forward_scheme"]; ok && v != "http" && v != "https" {
		return "data/forward_scheme must be equal to one of the allowed values"
	}
	if v, ok := in["forward_host"]; ok {
		if s, ok := v.(string); !ok || len(s) < 1 || len(s) > 255 {
			return "data/forward_host must be a string of 1 to 255 characters"
		}
	}
	if v, ok := in["forward_port"]; ok {
		if n, ok := v.(float64); !ok || n != float64(int(n)) || n < 1 || n > 65535 {
			return "data/forward_port must be an integer from 1 to 65535"
		}
	}
	for _, k := range []string{"certificate_id", "access_list_id"} {
		if v, ok := in[k]; ok {
			n, isNum := v.(float64)
			if (!isNum || n < 0 || n != float64(int(n))) && !(k == "certificate_id" && v == "new") {
				return "data/" + k + " must be an integer >= 0"
			}
		}
	}
	return ""
}

// taken reports a domain another host already serves.
func (f *fakeNPM) taken(domains []any, self int) string {
	for id, h := range f.hosts {
		if id == self {
			continue
		}
		for _, d := range h["domain_names"].([]any) {
			if slices.Contains(domains, d) {
				return d.(string)
			}
		}
	}
	return ""
}

func (f *fakeNPM) create(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if json.NewDecoder(r.Body).Decode(&in) != nil {
		npmError(w, 400, "Invalid JSON")
		return
	}
	if msg := validate(in, true); msg != "" {
		npmError(w, 400, msg)
		return
	}
	if d := f.taken(in["domain_names"].([]any), 0); d != "" {
		npmError(w, 400, d+" is already in use")
		return
	}
	h := map[string]any{
		"id": f.nextID, "created_on": f.now.Format(time.RFC3339), "owner_user_id": 1,
		"certificate_id": 0, "access_list_id": 0, "ssl_forced": false, "caching_enabled": false,
		"block_exploits": false, "advanced_config": "", "meta": map[string]any{}, "allow_websocket_upgrade": false,
		"http2_support": false, "enabled": true, "locations": []any{}, "hsts_enabled": false, "hsts_subdomains": false,
	}
	f.nextID++
	for k, v := range in {
		h[k] = v
	}
	f.configure(h)
	f.hosts[h["id"].(int)] = h
	reply(w, 201, h)
}

func (f *fakeNPM) update(w http.ResponseWriter, r *http.Request, id int, h map[string]any) {
	var in map[string]any
	if json.NewDecoder(r.Body).Decode(&in) != nil {
		npmError(w, 400, "Invalid JSON")
		return
	}
	if msg := validate(in, false); msg != "" {
		npmError(w, 400, msg)
		return
	}
	if d, ok := in["domain_names"].([]any); ok {
		if t := f.taken(d, id); t != "" {
			npmError(w, 400, t+" is already in use")
			return
		}
	}
	for k, v := range in {
		h[k] = v // meta included: NPM patches the row with the body
	}
	h["modified_on"] = f.now.Format(time.RFC3339)
	if h["enabled"] == true {
		f.configure(h)
	}
	reply(w, 200, h)
}

// configure is NPM's internalNginx.configure: render, nginx -t, and record
// the outcome in meta.
func (f *fakeNPM) configure(h map[string]any) {
	meta, _ := h["meta"].(map[string]any)
	m := map[string]any{}
	for k, v := range meta {
		m[k] = v
	}
	if f.nginx != nil {
		if err := f.nginx.configure(h); err != nil {
			m["nginx_online"] = false
			m["nginx_err"] = err.Error()
		} else {
			m["nginx_online"] = true
			m["nginx_err"] = nil
		}
	} else if f.offline(h) {
		m["nginx_online"] = false
		m["nginx_err"] = "nginx: [emerg] host not found in upstream \"" + fmt.Sprint(h["forward_host"]) + "\""
	} else {
		m["nginx_online"] = true
		m["nginx_err"] = nil
	}
	h["meta"] = m
}

// host returns a copy of host id's stored object.
func (f *fakeNPM) host(id int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(f.hosts[id])
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func (f *fakeNPM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hosts)
}
