package dnsrec

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Record types a plan changes.
const (
	TypeA    = "A"
	TypeAAAA = "AAAA"
	TypeTXT  = "TXT"
)

// Change is one record to add or delete at the plan's name.
type Change struct {
	Type  string // TypeA, TypeAAAA or TypeTXT
	Value string // an address, or the TXT value
}

func (c Change) String() string { return c.Type + " " + c.Value }

// Plan is what a provider must change at one name. Providers apply Add and
// Delete together where they can (one RFC 2136 UPDATE); where they cannot,
// they add the ownership record first and delete it last, so no record
// tinyforge wrote is ever left without its proof of ownership.
type Plan struct {
	FQDN  string
	Owner string // the ownership TXT value
	// Claim is true when the name had no ownership record: the provider
	// should make the change conditional on the name still holding no
	// A, AAAA or CNAME record (an RFC 2136 prerequisite).
	Claim  bool
	Add    []Change
	Delete []Change
	// Have is what the name held when the plan was made; providers that
	// can make a change conditional (RFC 2136 prerequisites) make it
	// conditional on the name still holding exactly that.
	Have Records
}

// Empty reports whether the zone already matches.
func (p Plan) Empty() bool { return len(p.Add) == 0 && len(p.Delete) == 0 }

// PlanEnsure decides the changes that make have match want. It refuses,
// with a *ConflictError, to touch a name holding A, AAAA or CNAME records
// without want's ownership record, or owned by another sidecar or workload.
func PlanEnsure(want Record, have Records) (Plan, error) {
	fqdn := Canonical(want.FQDN)
	mine, err := owned(fqdn, want.Owner, have)
	if err != nil {
		return Plan{}, err
	}
	if have.CNAME != "" {
		reason := "a CNAME cannot share its name with A/AAAA records"
		if !mine {
			reason = "records not created by tinyforge"
		}
		return Plan{}, &ConflictError{FQDN: fqdn, Reason: reason, Existing: have.Strings()}
	}
	if !mine && (len(have.A) > 0 || len(have.AAAA) > 0) {
		return Plan{}, &ConflictError{FQDN: fqdn, Reason: "records not created by tinyforge", Existing: have.Strings()}
	}
	p := Plan{FQDN: fqdn, Owner: want.Owner.TXT(), Claim: !mine, Have: have}
	if !mine {
		p.Add = append(p.Add, Change{TypeTXT, p.Owner})
	}
	diffAddrs(&p, TypeA, want.A, have.A)
	diffAddrs(&p, TypeAAAA, want.AAAA, have.AAAA)
	return p, nil
}

// PlanRemove decides the deletes that take owner's records off fqdn: every
// A and AAAA there and the ownership record. A name without the ownership
// record is left alone: empty plan when it holds nothing tinyforge looks
// at, a *ConflictError naming what it holds otherwise.
func PlanRemove(fqdn string, owner Owner, have Records) (Plan, error) {
	fqdn = Canonical(fqdn)
	mine, err := owned(fqdn, owner, have)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{FQDN: fqdn, Owner: owner.TXT(), Have: have}
	if !mine {
		if len(have.A) > 0 || len(have.AAAA) > 0 || have.CNAME != "" {
			return Plan{}, &ConflictError{FQDN: fqdn, Reason: "records not created by tinyforge", Existing: have.Strings()}
		}
		return p, nil
	}
	diffAddrs(&p, TypeA, nil, have.A)
	diffAddrs(&p, TypeAAAA, nil, have.AAAA)
	p.Delete = append(p.Delete, Change{TypeTXT, p.Owner})
	return p, nil
}

// owned reports whether have holds o's ownership record, and fails with a
// conflict when it holds another owner's.
func owned(fqdn string, o Owner, have Records) (bool, error) {
	mine := false
	var others []string
	for _, txt := range have.TXT {
		got, ok := ParseOwner(txt)
		switch {
		case !ok:
		case got == o:
			mine = true
		default:
			others = append(others, fmt.Sprintf("instance %q workload %q", got.Instance, got.Workload))
		}
	}
	if len(others) > 0 {
		return false, &ConflictError{FQDN: fqdn, Reason: "owned by tinyforge " + strings.Join(others, " and "), Existing: have.Strings()}
	}
	return mine, nil
}

// diffAddrs adds to p what want has and have lacks, and deletes the rest.
func diffAddrs(p *Plan, typ string, want, have []netip.Addr) {
	want, have = sortedAddrs(want), sortedAddrs(have)
	for _, a := range want {
		if !slices.Contains(have, a) {
			p.Add = append(p.Add, Change{typ, a.String()})
		}
	}
	for _, a := range have {
		if !slices.Contains(want, a) {
			p.Delete = append(p.Delete, Change{typ, a.String()})
		}
	}
}
