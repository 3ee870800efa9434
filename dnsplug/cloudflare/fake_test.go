package cloudflare_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeCF is Cloudflare API v4 as its documentation describes the zone and
// DNS record endpoints: Bearer token auth; every answer the envelope
// {"success","errors":[{"code","message"}],"messages","result"} with
// "result_info" {page, per_page, count, total_count, total_pages} on lists;
// exact name filters; 429 with Retry-After when rate limited (code 971);
// A/AAAA/CNAME exclusivity on one name; TTL 1 or 60-86400.
type fakeCF struct {
	mu         sync.Mutex
	token      string
	zones      []fakeZone
	records    map[string][]fakeRecord // zone id -> records in creation order
	nextID     int
	maxPerPage int    // caps per_page, to make lists span pages
	limited    int    // the next requests answered 429
	retryAfter string // Retry-After of those answers
	calls      []string
}

type fakeZone struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type fakeRecord struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     int    `json:"ttl"`
	Proxied bool   `json:"proxied"`
	Comment string `json:"comment,omitempty"`
}

func newFake(t *testing.T, zones ...string) (*fakeCF, string) {
	f := &fakeCF{token: "cf-test-token-1234", records: map[string][]fakeRecord{}, maxPerPage: 100}
	for i, z := range zones {
		f.zones = append(f.zones, fakeZone{ID: fmt.Sprintf("%032x", i+1), Name: z})
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/client/v4"
}

// seed adds a record as if made by hand in the dashboard.
func (f *fakeCF) seed(zone int, typ, name, content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.zones[zone].ID
	f.nextID++
	f.records[id] = append(f.records[id], fakeRecord{ID: fmt.Sprintf("%032x", 1000+f.nextID), Type: typ, Name: name, Content: content, TTL: 1})
}

// mutations returns the POST, PATCH and DELETE calls seen.
func (f *fakeCF) mutations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "GET ") {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeCF) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if f.limited > 0 {
		f.limited--
		w.Header().Set("Retry-After", f.retryAfter)
		fail(w, http.StatusTooManyRequests, 971, "Please wait and consider throttling your request speed")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		fail(w, http.StatusUnauthorized, 10000, "Authentication error")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/client/v4/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "zones" && r.Method == http.MethodGet:
		var out []any
		for _, z := range f.zones {
			if n := r.URL.Query().Get("name"); n == "" || n == z.Name {
				out = append(out, z)
			}
		}
		f.page(w, r, out)
	case len(parts) >= 3 && parts[0] == "zones" && parts[2] == "dns_records":
		if !f.hasZone(parts[1]) {
			fail(w, http.StatusNotFound, 7003, "Could not route to /zones/"+parts[1]+"/dns_records, perhaps your object identifier is invalid?")
			return
		}
		f.dnsRecords(w, r, parts[1], parts[3:])
	default:
		fail(w, http.StatusNotFound, 7000, "No route for that URI")
	}
}

func (f *fakeCF) hasZone(id string) bool {
	for _, z := range f.zones {
		if z.ID == id {
			return true
		}
	}
	return false
}

func (f *fakeCF) dnsRecords(w http.ResponseWriter, r *http.Request, zone string, rest []string) {
	recs := f.records[zone]
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		q := r.URL.Query()
		var out []any
		for _, rec := range recs {
			if (q.Get("name") == "" || q.Get("name") == rec.Name) && (q.Get("type") == "" || q.Get("type") == rec.Type) {
				out = append(out, rec)
			}
		}
		f.page(w, r, out)
	case len(rest) == 0 && r.Method == http.MethodPost:
		var rec fakeRecord
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil {
			fail(w, http.StatusBadRequest, 9207, "Request body is invalid.")
			return
		}
		if code, msg := f.check(zone, rec, ""); code != 0 {
			fail(w, http.StatusBadRequest, code, msg)
			return
		}
		f.nextID++
		rec.ID = fmt.Sprintf("%032x", f.nextID)
		f.records[zone] = append(recs, rec)
		ok(w, rec, nil)
	case len(rest) == 1 && (r.Method == http.MethodPatch || r.Method == http.MethodDelete):
		i := -1
		for j, rec := range recs {
			if rec.ID == rest[0] {
				i = j
			}
		}
		if i < 0 {
			fail(w, http.StatusNotFound, 81044, "Record does not exist.")
			return
		}
		if r.Method == http.MethodDelete {
			f.records[zone] = append(recs[:i:i], recs[i+1:]...)
			ok(w, map[string]string{"id": rest[0]}, nil)
			return
		}
		rec := recs[i]
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil {
			fail(w, http.StatusBadRequest, 9207, "Request body is invalid.")
			return
		}
		rec.ID = rest[0]
		if code, msg := f.check(zone, rec, rec.ID); code != 0 {
			fail(w, http.StatusBadRequest, code, msg)
			return
		}
		recs[i] = rec
		ok(w, rec, nil)
	default:
		fail(w, http.StatusMethodNotAllowed, 10405, "Method not allowed")
	}
}

// check validates a record as the API does, against the zone's others.
func (f *fakeCF) check(zone string, rec fakeRecord, self string) (int, string) {
	switch rec.Type {
	case "A":
		if ip := net.ParseIP(rec.Content); ip == nil || ip.To4() == nil {
			return 9005, "Content for A record must be a valid IPv4 address."
		}
	case "AAAA":
		if ip := net.ParseIP(rec.Content); ip == nil || ip.To4() != nil {
			return 9006, "Content for AAAA record must be a valid IPv6 address."
		}
	case "TXT", "CNAME":
	default:
		return 9000, "DNS record type is invalid."
	}
	if rec.TTL != 1 && (rec.TTL < 60 || rec.TTL > 86400) {
		return 9020, "Invalid TTL. Must be between 60 and 86400, or 1 for automatic."
	}
	for _, o := range f.records[zone] {
		if o.ID == self || o.Name != rec.Name {
			continue
		}
		if o.Type == rec.Type && o.Content == rec.Content {
			return 81058, "An identical record already exists."
		}
		if (o.Type == "CNAME") != (rec.Type == "CNAME") && rec.Type != "TXT" && o.Type != "TXT" {
			return 81053, "An A, AAAA, or CNAME record with that host already exists."
		}
	}
	return 0, ""
}

// page answers one page of a list, per_page capped at maxPerPage.
func (f *fakeCF) page(w http.ResponseWriter, r *http.Request, all []any) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if page < 1 {
		page = 1
	}
	if per < 1 || per > f.maxPerPage {
		per = f.maxPerPage
	}
	pages := (len(all) + per - 1) / per
	lo, hi := min((page-1)*per, len(all)), min(page*per, len(all))
	items := all[lo:hi]
	if items == nil {
		items = []any{}
	}
	ok(w, items, map[string]int{"page": page, "per_page": per, "count": len(items), "total_count": len(all), "total_pages": pages})
}

func ok(w http.ResponseWriter, result any, info map[string]int) {
	body := map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": result}
	if info != nil {
		body["result_info"] = info
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "messages": []any{}, "result": nil,
		"errors": []map[string]any{{"code": code, "message": msg}}})
}
