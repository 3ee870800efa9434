package rfc2136

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// Lookup reads fqdn's A, AAAA, TXT and CNAME records from the server
// itself (no recursion), and fails unless the server answers with
// authority, so a resolver or a server without the zone is never trusted.
func (z *Zone) Lookup(ctx context.Context, fqdn string) (dnsrec.Records, error) {
	var have dnsrec.Records
	name := dns.Fqdn(dnsrec.Canonical(fqdn))
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT} {
		r, err := z.query(ctx, name, t)
		if err != nil {
			return dnsrec.Records{}, err
		}
		for _, rr := range r.Answer {
			if !strings.EqualFold(rr.Header().Name, name) {
				continue // a CNAME's target
			}
			switch v := rr.(type) {
			case *dns.A:
				addAddr(&have.A, v.A.String())
			case *dns.AAAA:
				addAddr(&have.AAAA, v.AAAA.String())
			case *dns.TXT:
				if t == dns.TypeTXT {
					have.TXT = append(have.TXT, strings.Join(v.Txt, ""))
				}
			case *dns.CNAME:
				have.CNAME = v.Target
			}
		}
	}
	return have, nil
}

// query asks the server one question over UDP, and over TCP when the
// answer is truncated.
func (z *Zone) query(ctx context.Context, name string, t uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, t)
	q.RecursionDesired = false
	r, _, err := z.client("udp").ExchangeContext(ctx, q, z.server)
	if err == nil && r.Truncated {
		r, _, err = z.client("tcp").ExchangeContext(ctx, q, z.server)
	}
	what := fmt.Sprintf("lookup %s %s at %s", dnsrec.Canonical(name), dns.TypeToString[t], z.server)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if r.Rcode == dns.RcodeRefused || r.Rcode == dns.RcodeNotAuth {
		return nil, fmt.Errorf("%s: server answered %s: it does not serve zone %s: %w", what, dns.RcodeToString[r.Rcode], z.zone, dnsrec.ErrZoneNotFound)
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		return nil, rcodeError(what, r)
	}
	if !r.Authoritative {
		return nil, fmt.Errorf("%s: answer not authoritative: the server does not serve zone %s: %w", what, z.zone, dnsrec.ErrZoneNotFound)
	}
	return r, nil
}

func addAddr(to *[]netip.Addr, s string) {
	if a, err := netip.ParseAddr(s); err == nil {
		*to = append(*to, a.Unmap())
	}
}
