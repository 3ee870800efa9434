package dnsrec

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Record is what one public name should resolve to, and who owns it.
type Record struct {
	FQDN  string       // app.example.com, without the trailing dot
	A     []netip.Addr // IPv4 addresses
	AAAA  []netip.Addr // IPv6 addresses
	Owner Owner
}

// Records is what a zone holds at one name, as far as ownership and
// addresses go. Other types (MX, SRV, …) never conflict and are ignored.
type Records struct {
	A     []netip.Addr
	AAAA  []netip.Addr
	CNAME string   // target, "" when none
	TXT   []string // each TXT record's strings joined
}

// Empty reports whether the name holds none of the records tinyforge
// looks at.
func (r Records) Empty() bool {
	return len(r.A) == 0 && len(r.AAAA) == 0 && r.CNAME == "" && len(r.TXT) == 0
}

// Strings renders every record as "TYPE value", for errors and status.
func (r Records) Strings() []string {
	var out []string
	for _, a := range r.A {
		out = append(out, "A "+a.String())
	}
	for _, a := range r.AAAA {
		out = append(out, "AAAA "+a.String())
	}
	if r.CNAME != "" {
		out = append(out, "CNAME "+r.CNAME)
	}
	for _, t := range r.TXT {
		out = append(out, "TXT "+strconv.Quote(t))
	}
	return out
}

// Validate checks the record is one a zone can hold: a DNS name inside
// zone, at least one address, each of the right family.
func (r Record) Validate(zone string) error {
	if err := CheckName(r.FQDN); err != nil {
		return err
	}
	if !InZone(r.FQDN, zone) {
		return fmt.Errorf("%w: %s is not inside zone %s", ErrInvalid, r.FQDN, zone)
	}
	if len(r.A) == 0 && len(r.AAAA) == 0 {
		return fmt.Errorf("%w: %s: no address (set --public-ip or --public-ipv6)", ErrInvalid, r.FQDN)
	}
	for _, a := range r.A {
		if !a.Is4() {
			return fmt.Errorf("%w: %s: A address %s is not IPv4", ErrInvalid, r.FQDN, a)
		}
	}
	for _, a := range r.AAAA {
		if !a.Is6() || a.Is4In6() {
			return fmt.Errorf("%w: %s: AAAA address %s is not IPv6", ErrInvalid, r.FQDN, a)
		}
	}
	return r.Owner.Validate()
}

// Canonical lower-cases a name and drops its trailing dot.
func Canonical(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}

// CheckName rejects what is not a DNS host name: empty labels, labels
// over 63 bytes, names over 253, or characters outside [a-z0-9-_].
func CheckName(name string) error {
	n := Canonical(name)
	if n == "" || len(n) > 253 {
		return fmt.Errorf("%w: name %q: want 1-253 characters", ErrInvalid, name)
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%w: name %q: labels must be 1-63 characters", ErrInvalid, name)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%w: name %q: a label must not start or end with '-'", ErrInvalid, name)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%w: name %q: character %q not allowed", ErrInvalid, name, c)
			}
		}
	}
	return nil
}

// InZone reports whether name is zone itself or a name below it.
func InZone(name, zone string) bool {
	n, z := Canonical(name), Canonical(zone)
	return n == z || strings.HasSuffix(n, "."+z)
}

// sortedAddrs returns a sorted copy without duplicates.
func sortedAddrs(in []netip.Addr) []netip.Addr {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}
