package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// Apply sends p as one UPDATE message: prerequisites that the name's A,
// AAAA, TXT and CNAME RRsets are exactly what the plan was made from, then
// the deletes and adds. The server applies all of it or nothing, so a
// record changed by hand since the lookup is never overwritten: the
// update fails with YXRRSET/NXRRSET (dnsrec.ErrConflict) instead.
func (z *Zone) Apply(ctx context.Context, p dnsrec.Plan) error {
	if p.Empty() {
		return nil
	}
	name := dns.Fqdn(p.FQDN)
	m := new(dns.Msg)
	m.SetUpdate(z.zone)
	z.prerequisites(m, name, p.Have)
	var del, add []dns.RR
	for _, c := range p.Delete {
		rr, err := z.rr(name, c)
		if err != nil {
			return err
		}
		del = append(del, rr)
	}
	for _, c := range p.Add {
		rr, err := z.rr(name, c)
		if err != nil {
			return err
		}
		add = append(add, rr)
	}
	if len(del) > 0 {
		m.Remove(del)
	}
	if len(add) > 0 {
		m.Insert(add)
	}
	if z.keyName != "" {
		m.SetTsig(z.keyName, z.alg, 300, time.Now().Unix())
	}
	what := fmt.Sprintf("update %s at %s", p.FQDN, z.server)
	r, _, err := z.client("tcp").ExchangeContext(ctx, m, z.server)
	if r != nil && r.Rcode != dns.RcodeSuccess {
		return rcodeError(what, r) // a refused update's answer fails TSIG checks too: the rcode says more
	}
	if err != nil {
		var nerr net.Error
		if errors.As(err, &nerr) {
			return fmt.Errorf("%s: %w", what, err)
		}
		return fmt.Errorf("%s: %w (answer rejected: %w)", what, err, dnsrec.ErrRefused)
	}
	return nil
}

// prerequisites make the update conditional on the name's RRsets being
// exactly have: value-dependent for the sets it held, "does not exist"
// for the others.
func (z *Zone) prerequisites(m *dns.Msg, name string, have dnsrec.Records) {
	var used []dns.RR
	var absent []dns.RR
	sets := []struct {
		t      uint16
		values []string
	}{
		{dns.TypeA, addrStrings(have.A)},
		{dns.TypeAAAA, addrStrings(have.AAAA)},
		{dns.TypeTXT, have.TXT},
		{dns.TypeCNAME, nonEmpty(have.CNAME)},
	}
	for _, s := range sets {
		if len(s.values) == 0 {
			absent = append(absent, &dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: s.t}})
			continue
		}
		for _, v := range s.values {
			rr, err := z.rrOf(name, s.t, v)
			if err == nil {
				used = append(used, rr)
			}
		}
	}
	if len(used) > 0 {
		m.Used(used)
	}
	m.RRsetNotUsed(absent)
}

// rr builds the resource record of one change.
func (z *Zone) rr(name string, c dnsrec.Change) (dns.RR, error) {
	t, ok := dns.StringToType[c.Type]
	if !ok {
		return nil, fmt.Errorf("update %s: record type %q not supported", name, c.Type)
	}
	return z.rrOf(name, t, c.Value)
}

func (z *Zone) rrOf(name string, t uint16, value string) (dns.RR, error) {
	hdr := dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: z.ttl}
	switch t {
	case dns.TypeA:
		ip := net.ParseIP(value).To4()
		if ip == nil {
			return nil, fmt.Errorf("update %s: A value %q is not IPv4", name, value)
		}
		return &dns.A{Hdr: hdr, A: ip}, nil
	case dns.TypeAAAA:
		ip := net.ParseIP(value)
		if ip == nil || ip.To4() != nil {
			return nil, fmt.Errorf("update %s: AAAA value %q is not IPv6", name, value)
		}
		return &dns.AAAA{Hdr: hdr, AAAA: ip}, nil
	case dns.TypeTXT:
		return &dns.TXT{Hdr: hdr, Txt: split255(value)}, nil
	case dns.TypeCNAME:
		return &dns.CNAME{Hdr: hdr, Target: dns.Fqdn(value)}, nil
	}
	return nil, fmt.Errorf("update %s: record type %s not supported", name, dns.TypeToString[t])
}

// rcodeError names what was being done, the server's rcode and, when the
// server reports one, its TSIG error (BADSIG, BADKEY, BADTIME) — never
// the secret.
func rcodeError(what string, r *dns.Msg) error {
	rcode := dns.RcodeToString[r.Rcode]
	if t := r.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
		rcode += ", TSIG " + dns.RcodeToString[int(t.Error)]
	}
	var sentinel error
	switch r.Rcode {
	case dns.RcodeNotAuth, dns.RcodeRefused:
		sentinel = dnsrec.ErrRefused
	case dns.RcodeNotZone:
		sentinel = dnsrec.ErrZoneNotFound
	case dns.RcodeYXRrset, dns.RcodeNXRrset, dns.RcodeYXDomain, dns.RcodeNameError:
		return fmt.Errorf("%s: server answered %s: the name changed since it was read: %w", what, rcode, dnsrec.ErrConflict)
	default:
		return fmt.Errorf("%s: server answered %s", what, rcode)
	}
	return fmt.Errorf("%s: server answered %s: %w", what, rcode, sentinel)
}

func addrStrings(in []netip.Addr) []string {
	out := make([]string, 0, len(in))
	for _, a := range in {
		out = append(out, a.String())
	}
	return out
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// split255 cuts a TXT value into the 255-byte strings one TXT record holds.
func split255(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}
