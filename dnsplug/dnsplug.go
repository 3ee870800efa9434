// Package dnsplug keeps a DNS record for every public face, beside the
// proxy plugins: the Provider the deployer calls before a route first goes
// live, on teardown and from the reconciler; the engine that turns a
// provider's read and write of one zone into ensure/remove/verify with
// confirmation; the Keeper, which holds the state of every name (what is
// kept, what failed and when it is retried, drift re-reads at a bounded
// rate); and the configuration (flags, validation, New).
//
// The record model and the ownership rules live in dnsrec, the wire
// protocols in rfc2136 and cloudflare. It must not import the deployer,
// the sidecar or redisstore: they import it.
package dnsplug

import (
	"context"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// The record model, re-exported so callers need only this package.
type (
	Record  = dnsrec.Record
	Records = dnsrec.Records
	Owner   = dnsrec.Owner
	Status  = dnsrec.Status
	State   = dnsrec.State
)

// Sentinel errors; see dnsrec.
var (
	ErrConflict     = dnsrec.ErrConflict
	ErrRefused      = dnsrec.ErrRefused
	ErrZoneNotFound = dnsrec.ErrZoneNotFound
	ErrNotConfirmed = dnsrec.ErrNotConfirmed
	ErrInvalid      = dnsrec.ErrInvalid
)

// Canonical lower-cases a name and drops its trailing dot, as every name
// the keeper reports is spelled.
func Canonical(name string) string { return dnsrec.Canonical(name) }

// Provider keeps the records of public names. Every call returns a Status
// fit for GET /v1/workloads, also when it returns an error.
type Provider interface {
	// Ensure makes r's name resolve to r's addresses with r's ownership
	// record, and confirms it with the authority. A name it cannot prove
	// it owns is left untouched (ErrConflict).
	Ensure(ctx context.Context, r Record) (Status, error)
	// Remove deletes the records owner holds at fqdn; nothing else.
	Remove(ctx context.Context, fqdn string, owner Owner) (Status, error)
	// Verify reads r's name from the authority and reports, without
	// changing anything, whether it matches (StateOK) or drifted.
	Verify(ctx context.Context, r Record) (Status, error)
}

// None manages no record (--dns-provider none): today's behaviour.
type None struct{}

var _ Provider = None{}

func (None) Ensure(_ context.Context, r Record) (Status, error) {
	return fixed(r.FQDN, dnsrec.StateDisabled), nil
}
func (None) Verify(_ context.Context, r Record) (Status, error) {
	return fixed(r.FQDN, dnsrec.StateDisabled), nil
}
func (None) Remove(_ context.Context, fqdn string, _ Owner) (Status, error) {
	return fixed(fqdn, dnsrec.StateDisabled), nil
}

// Wildcard manages no record because the zone's *.domain already answers
// for every face (--dns-wildcard).
type Wildcard struct{}

var _ Provider = Wildcard{}

func (Wildcard) Ensure(_ context.Context, r Record) (Status, error) {
	return fixed(r.FQDN, dnsrec.StateWildcard), nil
}
func (Wildcard) Verify(_ context.Context, r Record) (Status, error) {
	return fixed(r.FQDN, dnsrec.StateWildcard), nil
}
func (Wildcard) Remove(_ context.Context, fqdn string, _ Owner) (Status, error) {
	return fixed(fqdn, dnsrec.StateWildcard), nil
}

func fixed(fqdn string, s State) Status {
	return Status{FQDN: dnsrec.Canonical(fqdn), State: s, Checked: now()}
}
