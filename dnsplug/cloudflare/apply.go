package cloudflare

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// Apply changes the records of p one request at a time: the API has no
// prerequisites, so it first re-reads the name and refuses (ErrConflict)
// when it no longer holds what the plan was made from. The ownership
// record is created first and deleted last; a delete paired with an add
// of the same type becomes one update (PATCH), so an address changes
// without a moment with no record.
func (z *Zone) Apply(ctx context.Context, p dnsrec.Plan) error {
	if p.Empty() {
		return nil
	}
	recs, err := z.records(ctx, p.FQDN)
	if err != nil {
		return err
	}
	if now := toRecords(p.FQDN, recs); !sameRecords(now, p.Have) {
		return fmt.Errorf("cloudflare: %s changed since it was read (now: %s): %w", p.FQDN, strings.Join(now.Strings(), ", "), dnsrec.ErrConflict)
	}
	id, err := z.zoneID(ctx)
	if err != nil {
		return err
	}
	base := "/zones/" + id + "/dns_records"
	adds, dels := slices.Clone(p.Add), slices.Clone(p.Delete)
	var ownerAdd, ownerDel bool
	adds = slices.DeleteFunc(adds, func(c dnsrec.Change) bool {
		ownerAdd = ownerAdd || c.Type == dnsrec.TypeTXT
		return c.Type == dnsrec.TypeTXT
	})
	dels = slices.DeleteFunc(dels, func(c dnsrec.Change) bool {
		ownerDel = ownerDel || c.Type == dnsrec.TypeTXT
		return c.Type == dnsrec.TypeTXT
	})
	if ownerAdd {
		if err := z.create(ctx, base, p.FQDN, dnsrec.Change{Type: dnsrec.TypeTXT, Value: p.Owner}); err != nil {
			return err
		}
	}
	for _, a := range adds {
		if i := slices.IndexFunc(dels, func(d dnsrec.Change) bool { return d.Type == a.Type }); i >= 0 {
			rid, err := recordID(p.FQDN, recs, dels[i])
			if err != nil {
				return err
			}
			dels = slices.Delete(dels, i, i+1)
			if _, err := z.call(ctx, http.MethodPatch, base+"/"+rid, nil, z.body(p.FQDN, a)); err != nil {
				return err
			}
			continue
		}
		if err := z.create(ctx, base, p.FQDN, a); err != nil {
			return err
		}
	}
	if ownerDel {
		dels = append(dels, dnsrec.Change{Type: dnsrec.TypeTXT, Value: p.Owner}) // last
	}
	for _, d := range dels {
		rid, err := recordID(p.FQDN, recs, d)
		if err != nil {
			return err
		}
		if _, err := z.call(ctx, http.MethodDelete, base+"/"+rid, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

func (z *Zone) create(ctx context.Context, base, fqdn string, c dnsrec.Change) error {
	_, err := z.call(ctx, http.MethodPost, base, nil, z.body(fqdn, c))
	return err
}

// body is the record to create or update; TXT content is quoted as the
// API documents it, addresses are never proxied through Cloudflare.
func (z *Zone) body(fqdn string, c dnsrec.Change) record {
	r := record{Type: c.Type, Name: fqdn, Content: c.Value, TTL: z.ttl, Comment: "managed by tinyforge"}
	if c.Type == dnsrec.TypeTXT {
		r.Content = strconv.Quote(c.Value)
	} else {
		off := false
		r.Proxied = &off
	}
	return r
}

// toRecords keeps the records at fqdn tinyforge looks at.
func toRecords(fqdn string, recs []record) dnsrec.Records {
	var out dnsrec.Records
	for _, r := range recs {
		if dnsrec.Canonical(r.Name) != dnsrec.Canonical(fqdn) {
			continue
		}
		switch r.Type {
		case dnsrec.TypeA, dnsrec.TypeAAAA:
			a, err := netip.ParseAddr(r.Content)
			if err != nil {
				continue
			}
			if r.Type == dnsrec.TypeA {
				out.A = append(out.A, a)
			} else {
				out.AAAA = append(out.AAAA, a)
			}
		case "CNAME":
			out.CNAME = r.Content
		case dnsrec.TypeTXT:
			out.TXT = append(out.TXT, unquoteTXT(r.Content))
		}
	}
	return out
}

// recordID finds the id of the record a change deletes or updates.
func recordID(fqdn string, recs []record, c dnsrec.Change) (string, error) {
	for _, r := range recs {
		v := r.Content
		if r.Type == dnsrec.TypeTXT {
			v = unquoteTXT(v)
		}
		if r.Type == c.Type && v == c.Value && r.ID != "" {
			return url.PathEscape(r.ID), nil
		}
	}
	return "", fmt.Errorf("cloudflare: %s: no record id for %s in the zone's listing", fqdn, c)
}

// unquoteTXT reads TXT content with or without the RFC 1035 quotes the
// API may show ("a" "b" becomes ab).
func unquoteTXT(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, `"`) {
		return s
	}
	var b strings.Builder
	in, esc := false, false
	for _, c := range s {
		switch {
		case esc:
			b.WriteRune(c)
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// sameRecords compares two reads of a name, ignoring order.
func sameRecords(a, b dnsrec.Records) bool {
	norm := func(r dnsrec.Records) []string { s := r.Strings(); slices.Sort(s); return s }
	return slices.Equal(norm(a), norm(b))
}
