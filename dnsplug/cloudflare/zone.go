package cloudflare

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// Options configure one Cloudflare zone.
type Options struct {
	Token       string // API token with DNS Write on the zone
	Zone        string // zone name, e.g. example.com
	TTL         int    // TTL of the records written: 1 (automatic) or 60-86400; 300 when 0
	BaseURL     string // DefaultBaseURL when empty
	HTTP        *http.Client
	MaxAttempts int           // tries per request on 429 and 5xx; 5 when 0
	MaxWait     time.Duration // longest single back-off wait; 60s when 0
	// Sleep waits between attempts; a timer bound to ctx when nil (tests
	// pass one that records the waits instead).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Zone reads and changes one Cloudflare zone's records.
type Zone struct {
	token, name, base string
	ttl               int
	http              *http.Client
	attempts          int
	maxWait           time.Duration
	sleep             func(context.Context, time.Duration) error

	mu sync.Mutex
	id string // looked up by name on first use
}

// New checks o and returns the zone. It makes no network call.
func New(o Options) (*Zone, error) {
	if o.Token == "" {
		return nil, fmt.Errorf("cloudflare: an API token is required")
	}
	if err := dnsrec.CheckName(o.Zone); err != nil {
		return nil, fmt.Errorf("cloudflare: zone: %w", err)
	}
	z := &Zone{token: o.Token, name: dnsrec.Canonical(o.Zone), base: strings.TrimSuffix(o.BaseURL, "/"),
		ttl: o.TTL, http: o.HTTP, attempts: o.MaxAttempts, maxWait: o.MaxWait, sleep: o.Sleep}
	if z.base == "" {
		z.base = DefaultBaseURL
	}
	if z.ttl == 0 {
		z.ttl = 300
	}
	if z.ttl != 1 && (z.ttl < 30 || z.ttl > 86400) {
		return nil, fmt.Errorf("cloudflare: TTL %d: want 1 (automatic) or 60-86400 (30 on Enterprise zones)", z.ttl)
	}
	if z.sleep == nil {
		z.sleep = sleepCtx
	}
	if z.http == nil {
		z.http = &http.Client{Timeout: 30 * time.Second}
	}
	if z.attempts <= 0 {
		z.attempts = 5
	}
	if z.maxWait <= 0 {
		z.maxWait = time.Minute
	}
	return z, nil
}

// zoneID finds the zone's id by name once.
func (z *Zone) zoneID(ctx context.Context) (string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.id != "" {
		return z.id, nil
	}
	var zones []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := z.list(ctx, "/zones", url.Values{"name": {z.name}}, &zones); err != nil {
		return "", err
	}
	for _, zone := range zones {
		if dnsrec.Canonical(zone.Name) == z.name {
			z.id = zone.ID
			return z.id, nil
		}
	}
	return "", fmt.Errorf("cloudflare: zone %s not found (or the token cannot see it): %w", z.name, dnsrec.ErrZoneNotFound)
}

// record is a DNS record as the API shows it.
type record struct {
	ID      string `json:"id,omitempty"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     int    `json:"ttl,omitempty"`
	Proxied *bool  `json:"proxied,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// list GETs every page of a list endpoint into out (a pointer to a slice).
func (z *Zone) list(ctx context.Context, path string, q url.Values, out any) error {
	var all []json.RawMessage
	for page := 1; ; page++ {
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", "100")
		env, err := z.call(ctx, http.MethodGet, path, q, nil)
		if err != nil {
			return err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(env.Result, &items); err != nil {
			return fmt.Errorf("cloudflare GET %s: result is not a list: %w", path, err)
		}
		all = append(all, items...)
		if env.ResultInfo == nil || page >= env.ResultInfo.TotalPages || len(items) == 0 {
			break
		}
	}
	raw, _ := json.Marshal(all)
	return json.Unmarshal(raw, out)
}

// records lists every record at fqdn.
func (z *Zone) records(ctx context.Context, fqdn string) ([]record, error) {
	id, err := z.zoneID(ctx)
	if err != nil {
		return nil, err
	}
	var recs []record
	err = z.list(ctx, "/zones/"+id+"/dns_records", url.Values{"name": {dnsrec.Canonical(fqdn)}}, &recs)
	return recs, err
}

// Lookup reads fqdn's A, AAAA, TXT and CNAME records from the API, the
// zone's source of truth.
func (z *Zone) Lookup(ctx context.Context, fqdn string) (dnsrec.Records, error) {
	recs, err := z.records(ctx, fqdn)
	if err != nil {
		return dnsrec.Records{}, err
	}
	return toRecords(fqdn, recs), nil
}
