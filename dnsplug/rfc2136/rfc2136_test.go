package rfc2136_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/tinyforge/tinyforge/dnsplug"
	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
	"github.com/tinyforge/tinyforge/dnsplug/rfc2136"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

var (
	owner = dnsplug.Owner{Instance: "edge-1", Workload: "shop/web"}
	ip4   = netip.MustParseAddr("203.0.113.7")
	ip6   = netip.MustParseAddr("2001:db8::7")
)

// knotZone starts a knotd and returns it with a manager signing with its key.
func knotZone(t testing.TB) (*testsvc.DNSServer, *rfc2136.Zone, *dnsplug.Manager) {
	t.Helper()
	s := testsvc.Knot(t)
	z, err := rfc2136.New(rfc2136.Options{Server: s.Addr, Zone: s.Zone, KeyName: s.KeyName, Secret: s.KeySecret, Algorithm: s.KeyAlgorithm, TTL: 120})
	if err != nil {
		t.Fatalf("rfc2136.New: %v", err)
	}
	return s, z, dnsplug.NewManager(s.Zone, z, 5*time.Second)
}

func record(s *testsvc.DNSServer, label string) dnsplug.Record {
	return dnsplug.Record{FQDN: label + "." + s.Zone, A: []netip.Addr{ip4}, AAAA: []netip.Addr{ip6}, Owner: owner}
}

// answer asks the server directly, as dig would, and renders "TYPE value ttl".
func answer(t *testing.T, s *testsvc.DNSServer, name string, qtype uint16) []string {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.RecursionDesired = false
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, s.Addr)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	var out []string
	for _, rr := range r.Answer {
		f := strings.Fields(rr.String()) // name ttl class type rdata...
		out = append(out, f[3]+" "+strings.Join(f[4:], " ")+" ttl="+f[1])
	}
	slices.Sort(out)
	return out
}

func TestEnsureCreatesConfirmsAndChangesNothingTwice(t *testing.T) {
	s, _, m := knotZone(t)
	ctx := context.Background()
	r := record(s, "shop")
	before := s.Serial(t)

	st, err := m.Ensure(ctx, r)
	if err != nil || st.State != dnsrec.StateOK || !st.Changed {
		t.Fatalf("Ensure = %+v, %v; want ok and changed", st, err)
	}
	if got := answer(t, s, r.FQDN, dns.TypeA); !slices.Equal(got, []string{"A 203.0.113.7 ttl=120"}) {
		t.Errorf("A answer = %v", got)
	}
	if got := answer(t, s, r.FQDN, dns.TypeAAAA); !slices.Equal(got, []string{"AAAA 2001:db8::7 ttl=120"}) {
		t.Errorf("AAAA answer = %v", got)
	}
	wantTXT := `TXT "heritage=tinyforge,tinyforge/owner=edge-1,tinyforge/workload=shop/web" ttl=120`
	if got := answer(t, s, r.FQDN, dns.TypeTXT); !slices.Equal(got, []string{wantTXT}) {
		t.Errorf("TXT answer = %v, want %s", got, wantTXT)
	}
	created := s.Serial(t)
	if created == before {
		t.Fatalf("SOA serial still %d after the records were created", created)
	}

	st, err = m.Ensure(ctx, r)
	if err != nil || st.State != dnsrec.StateOK || st.Changed {
		t.Fatalf("second Ensure = %+v, %v; want ok and unchanged", st, err)
	}
	if got := s.Serial(t); got != created {
		t.Errorf("SOA serial %d -> %d on an Ensure that should change nothing", created, got)
	}
	if v, err := m.Verify(ctx, r); err != nil || v.State != dnsrec.StateOK {
		t.Errorf("Verify = %+v, %v", v, err)
	}
}

func TestRemoveDeletesOnlyWhatItOwns(t *testing.T) {
	s, _, m := knotZone(t)
	ctx := context.Background()
	r := record(s, "shop")
	if _, err := m.Ensure(ctx, r); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	s.SetRecord(t, "shop", "TXT", `"v=spf1 -all"`) // the operator's own record at the same name

	st, err := m.Remove(ctx, r.FQDN, owner)
	if err != nil || st.State != dnsrec.StateRemoved || !st.Changed {
		t.Fatalf("Remove = %+v, %v", st, err)
	}
	for _, q := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if got := answer(t, s, r.FQDN, q); len(got) != 0 {
			t.Errorf("%s still answers %v after Remove", dns.TypeToString[q], got)
		}
	}
	if got := answer(t, s, r.FQDN, dns.TypeTXT); !slices.Equal(got, []string{`TXT "v=spf1 -all" ttl=300`}) {
		t.Errorf("TXT after Remove = %v, want only the operator's SPF record", got)
	}
	serial := s.Serial(t)
	if st, err := m.Remove(ctx, r.FQDN, owner); err != nil || st.Changed {
		t.Fatalf("second Remove = %+v, %v; want no change", st, err)
	}
	if got := s.Serial(t); got != serial {
		t.Errorf("SOA serial %d -> %d on a Remove with nothing to remove", serial, got)
	}
}

func TestHandMadeRecordIsNeverTouched(t *testing.T) {
	s, _, m := knotZone(t)
	ctx := context.Background()
	r := record(s, "shop")
	s.SetRecord(t, "shop", "A", "198.51.100.9")
	serial := s.Serial(t)

	st, err := m.Ensure(ctx, r)
	if !errors.Is(err, dnsplug.ErrConflict) || st.State != dnsrec.StateConflict {
		t.Fatalf("Ensure over a hand-made A = %+v, %v; want a conflict", st, err)
	}
	if !strings.Contains(err.Error(), r.FQDN) || !strings.Contains(err.Error(), "A 198.51.100.9") {
		t.Errorf("conflict %q does not name the FQDN and the existing value", err)
	}
	if _, err := m.Remove(ctx, r.FQDN, owner); !errors.Is(err, dnsplug.ErrConflict) {
		t.Errorf("Remove of a hand-made A = %v, want a conflict", err)
	}
	if got := s.Serial(t); got != serial {
		t.Errorf("SOA serial %d -> %d: the zone was changed", serial, got)
	}
	if got := answer(t, s, r.FQDN, dns.TypeA); !slices.Equal(got, []string{"A 198.51.100.9 ttl=300"}) {
		t.Errorf("A answer = %v, want the hand-made record alone", got)
	}
	if got := answer(t, s, r.FQDN, dns.TypeTXT); len(got) != 0 {
		t.Errorf("an ownership record was written beside a hand-made record: %v", got)
	}
}

func TestRecordChangedSinceLookupFailsThePrerequisite(t *testing.T) {
	s, z, _ := knotZone(t)
	ctx := context.Background()
	r := record(s, "race")
	have, err := z.Lookup(ctx, r.FQDN)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	p, err := dnsrec.PlanEnsure(r, have)
	if err != nil || !p.Claim {
		t.Fatalf("PlanEnsure = %+v, %v", p, err)
	}
	s.SetRecord(t, "race", "A", "198.51.100.9") // an operator is faster
	err = z.Apply(ctx, p)
	if !errors.Is(err, dnsrec.ErrConflict) || !strings.Contains(err.Error(), "YXRRSET") {
		t.Fatalf("Apply after a concurrent hand edit = %v, want a YXRRSET conflict", err)
	}
	if got := answer(t, s, r.FQDN, dns.TypeA); !slices.Equal(got, []string{"A 198.51.100.9 ttl=300"}) {
		t.Errorf("A answer = %v, want the hand-made record alone", got)
	}
}

func TestDriftIsSeenAndRepaired(t *testing.T) {
	s, _, m := knotZone(t)
	ctx := context.Background()
	r := record(s, "shop")
	if _, err := m.Ensure(ctx, r); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	s.Knotc(t, "zone-begin", s.Zone)
	s.Knotc(t, "zone-unset", s.Zone, "shop", "AAAA")
	s.Knotc(t, "zone-unset", s.Zone, "shop", "A")
	s.Knotc(t, "zone-set", s.Zone, "shop", "300", "A", "198.51.100.1")
	s.Knotc(t, "zone-commit", s.Zone)

	v, err := m.Verify(ctx, r)
	if err != nil || v.State != dnsrec.StateDrift || !strings.Contains(v.Error, "+AAAA 2001:db8::7") || !strings.Contains(v.Error, "-A 198.51.100.1") {
		t.Fatalf("Verify after a hand edit = %+v, %v; want drift naming both changes", v, err)
	}
	st, err := m.Ensure(ctx, r)
	if err != nil || !st.Changed {
		t.Fatalf("Ensure repairing drift = %+v, %v", st, err)
	}
	if got := answer(t, s, r.FQDN, dns.TypeA); !slices.Equal(got, []string{"A 203.0.113.7 ttl=120"}) {
		t.Errorf("A after repair = %v", got)
	}
	if got := answer(t, s, r.FQDN, dns.TypeAAAA); !slices.Equal(got, []string{"AAAA 2001:db8::7 ttl=120"}) {
		t.Errorf("AAAA after repair = %v", got)
	}
}

func TestWrongTSIGKeyIsRefusedClearly(t *testing.T) {
	s, _, _ := knotZone(t)
	ctx := context.Background()
	serial := s.Serial(t)
	wrong := "c2VjcmV0LXRoYXQtaXMtbm90LXRoZS1rZXlzLXNlY3JldA=="
	for name, o := range map[string]rfc2136.Options{
		"wrong secret": {KeyName: s.KeyName, Secret: wrong},
		"unknown key":  {KeyName: "nobody", Secret: wrong},
	} {
		t.Run(name, func(t *testing.T) {
			o.Server, o.Zone = s.Addr, s.Zone
			z, err := rfc2136.New(o)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			st, err := dnsplug.NewManager(s.Zone, z, time.Second).Ensure(ctx, record(s, "shop"))
			if !errors.Is(err, dnsplug.ErrRefused) || st.State != dnsrec.StateFailed {
				t.Fatalf("Ensure with a %s = %+v, %v; want ErrRefused", name, st, err)
			}
			msg := err.Error()
			for _, want := range []string{"shop." + s.Zone, s.Addr, "NOTAUTH"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if strings.Contains(msg, wrong) || strings.Contains(msg, s.KeySecret) || strings.Contains(st.Error, wrong) {
				t.Errorf("error leaks a secret: %q", msg)
			}
			t.Logf("error: %s", msg)
		})
	}
	if got := s.Serial(t); got != serial {
		t.Errorf("SOA serial %d -> %d after refused updates", serial, got)
	}
}

func TestServerDownAndForeignZone(t *testing.T) {
	s, _, _ := knotZone(t)
	ctx := context.Background()
	down := fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))
	z, err := rfc2136.New(rfc2136.Options{Server: down, Zone: s.Zone, KeyName: s.KeyName, Secret: s.KeySecret, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = dnsplug.NewManager(s.Zone, z, time.Second).Ensure(ctx, record(s, "shop"))
	if err == nil || !strings.Contains(err.Error(), down) || !strings.Contains(err.Error(), "shop."+s.Zone) {
		t.Errorf("Ensure against a dead server = %v, want an error naming server and FQDN", err)
	}

	other := "elsewhere.test"
	z, err = rfc2136.New(rfc2136.Options{Server: s.Addr, Zone: other, KeyName: s.KeyName, Secret: s.KeySecret})
	if err != nil {
		t.Fatal(err)
	}
	r := dnsplug.Record{FQDN: "shop." + other, A: []netip.Addr{ip4}, Owner: owner}
	_, err = dnsplug.NewManager(other, z, time.Second).Ensure(ctx, r)
	if !errors.Is(err, dnsplug.ErrZoneNotFound) {
		t.Errorf("Ensure in a zone the server does not serve = %v, want ErrZoneNotFound", err)
	}
}
