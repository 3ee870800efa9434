package dnsrec

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, checked with errors.Is; providers wrap them with the
// FQDN and the server's answer.
var (
	// ErrConflict: the name holds records tinyforge cannot prove it
	// created (or another owner's), so they are left untouched.
	ErrConflict = errors.New("dns conflict")
	// ErrRefused: the server or API refused the change or the credentials
	// (TSIG rejected, NOTAUTH, REFUSED, HTTP 401/403).
	ErrRefused = errors.New("dns change refused")
	// ErrZoneNotFound: the zone is not served by the server or account.
	ErrZoneNotFound = errors.New("dns zone not found")
	// ErrNotConfirmed: the change was accepted but the authoritative
	// answer still differs from the records wanted.
	ErrNotConfirmed = errors.New("dns change not confirmed")
	// ErrInvalid: the record asked for is malformed (bad name, outside
	// the zone, no address).
	ErrInvalid = errors.New("invalid dns record")
)

// ConflictError names the FQDN and what the zone holds there, so an
// operator can see which hand-made record blocks the name.
type ConflictError struct {
	FQDN     string
	Reason   string
	Existing []string // "A 198.51.100.9", "TXT \"v=spf1 -all\""
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s: %s (existing: %s); left untouched", e.FQDN, e.Reason, strings.Join(e.Existing, ", "))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
