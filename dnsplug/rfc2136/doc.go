// Package rfc2136 keeps tinyforge's records in any authoritative server
// that takes RFC 2136 dynamic updates signed with TSIG (BIND, Knot,
// PowerDNS, Technitium…): it reads a name's records from that server
// directly, never through a resolver, and applies a dnsrec.Plan as one
// UPDATE message conditional on the name still holding what was read.
//
// It owns the DNS wire protocol only; the decisions are dnsrec's. It must
// not import dnsplug, the deployer or the sidecar.
package rfc2136
