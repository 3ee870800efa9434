// Package dnsrec is the record model every DNS provider shares: the
// desired records of one public name (Record), what a zone holds there
// (Records), the external-dns style TXT ownership record (Owner), and the
// pure plan from one to the other that never touches a record whose
// ownership it cannot prove.
//
// It does no I/O and must not import the providers, dnsplug or the
// deployer: they all import it.
package dnsrec
