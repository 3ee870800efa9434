package dnsrec

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

var (
	me    = Owner{Instance: "edge-1", Workload: "shop/web"}
	other = Owner{Instance: "edge-2", Workload: "blog/web"}
	ip4   = netip.MustParseAddr("203.0.113.7")
	ip4b  = netip.MustParseAddr("203.0.113.8")
	ip6   = netip.MustParseAddr("2001:db8::7")
)

func addrs(a ...netip.Addr) []netip.Addr { return a }

func TestPlanEnsure(t *testing.T) {
	want := Record{FQDN: "Shop.Example.com.", A: addrs(ip4), AAAA: addrs(ip6), Owner: me}
	tests := []struct {
		name     string
		have     Records
		claim    bool
		add, del []Change
		conflict string // substring of the conflict error, "" for none
	}{
		{name: "free name: claim it, ownership record first", have: Records{}, claim: true,
			add: []Change{{TypeTXT, me.TXT()}, {TypeA, "203.0.113.7"}, {TypeAAAA, "2001:db8::7"}}},
		{name: "free name with someone's SPF: keep it", have: Records{TXT: []string{"v=spf1 -all"}}, claim: true,
			add: []Change{{TypeTXT, me.TXT()}, {TypeA, "203.0.113.7"}, {TypeAAAA, "2001:db8::7"}}},
		{name: "owned and correct: nothing", have: Records{A: addrs(ip4), AAAA: addrs(ip6), TXT: []string{me.TXT()}}},
		{name: "owned, A changed by hand: repair", have: Records{A: addrs(ip4b), AAAA: addrs(ip6), TXT: []string{me.TXT()}},
			add: []Change{{TypeA, "203.0.113.7"}}, del: []Change{{TypeA, "203.0.113.8"}}},
		{name: "owned, AAAA deleted by hand: repair", have: Records{A: addrs(ip4), TXT: []string{me.TXT()}},
			add: []Change{{TypeAAAA, "2001:db8::7"}}},
		{name: "hand-made A: conflict naming it", have: Records{A: addrs(ip4b)},
			conflict: "records not created by tinyforge (existing: A 203.0.113.8)"},
		{name: "hand-made CNAME: conflict", have: Records{CNAME: "elsewhere.example.net."},
			conflict: "CNAME elsewhere.example.net."},
		{name: "CNAME beside owned records: conflict", have: Records{CNAME: "x.example.net.", TXT: []string{me.TXT()}},
			conflict: "CNAME cannot share"},
		{name: "other workload's record: conflict", have: Records{A: addrs(ip4), TXT: []string{other.TXT()}},
			conflict: `owned by tinyforge instance "edge-2" workload "blog/web"`},
		{name: "other owner's TXT alone: still conflict", have: Records{TXT: []string{other.TXT()}},
			conflict: "owned by tinyforge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanEnsure(want, tt.have)
			if tt.conflict != "" {
				var ce *ConflictError
				if !errors.Is(err, ErrConflict) || !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.conflict) {
					t.Fatalf("PlanEnsure = %+v, %v; want a conflict containing %q", p, err, tt.conflict)
				}
				if ce.FQDN != "shop.example.com" {
					t.Errorf("conflict names %q, want shop.example.com", ce.FQDN)
				}
				return
			}
			if err != nil {
				t.Fatalf("PlanEnsure: %v", err)
			}
			if p.FQDN != "shop.example.com" || p.Claim != tt.claim || p.Owner != me.TXT() {
				t.Errorf("plan header = %q claim=%v owner=%q", p.FQDN, p.Claim, p.Owner)
			}
			if !reflect.DeepEqual(p.Add, tt.add) || !reflect.DeepEqual(p.Delete, tt.del) {
				t.Errorf("plan = add %v delete %v; want add %v delete %v", p.Add, p.Delete, tt.add, tt.del)
			}
			if p.Empty() != (len(tt.add)+len(tt.del) == 0) {
				t.Errorf("Empty() = %v", p.Empty())
			}
		})
	}
}

func TestPlanRemove(t *testing.T) {
	tests := []struct {
		name     string
		have     Records
		del      []Change
		conflict string
	}{
		{name: "owned: delete addresses, ownership record last",
			have: Records{A: addrs(ip4, ip4b), AAAA: addrs(ip6), TXT: []string{"v=spf1 -all", me.TXT()}},
			del:  []Change{{TypeA, "203.0.113.7"}, {TypeA, "203.0.113.8"}, {TypeAAAA, "2001:db8::7"}, {TypeTXT, me.TXT()}}},
		{name: "only the ownership record left: delete it", have: Records{TXT: []string{me.TXT()}},
			del: []Change{{TypeTXT, me.TXT()}}},
		{name: "nothing there: nothing to do", have: Records{}},
		{name: "someone's TXT only: nothing to do", have: Records{TXT: []string{"google-site-verification=x"}}},
		{name: "hand-made A: conflict, untouched", have: Records{A: addrs(ip4)}, conflict: "A 203.0.113.7"},
		{name: "another owner: conflict", have: Records{A: addrs(ip4), TXT: []string{other.TXT()}}, conflict: "edge-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanRemove("shop.example.com", me, tt.have)
			if tt.conflict != "" {
				if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tt.conflict) {
					t.Fatalf("PlanRemove = %+v, %v; want a conflict containing %q", p, err, tt.conflict)
				}
				return
			}
			if err != nil {
				t.Fatalf("PlanRemove: %v", err)
			}
			if len(p.Add) != 0 || !reflect.DeepEqual(p.Delete, tt.del) {
				t.Errorf("plan = add %v delete %v; want delete %v", p.Add, p.Delete, tt.del)
			}
		})
	}
}

func TestOwnerRoundTripAndValidation(t *testing.T) {
	if got, ok := ParseOwner(me.TXT()); !ok || got != me {
		t.Fatalf("ParseOwner(%q) = %+v, %v", me.TXT(), got, ok)
	}
	if me.TXT() != "heritage=tinyforge,tinyforge/owner=edge-1,tinyforge/workload=shop/web" {
		t.Errorf("TXT = %q", me.TXT())
	}
	for _, txt := range []string{"v=spf1 -all", "heritage=external-dns,external-dns/owner=default", "plain"} {
		if _, ok := ParseOwner(txt); ok {
			t.Errorf("ParseOwner(%q) claimed a foreign record", txt)
		}
	}
	for _, bad := range []Owner{{"", "w"}, {"i", ""}, {"a,b", "w"}, {"i", "x=y"}, {"i", `q"`}, {"i j", "w"}, {"i", strings.Repeat("w", 250)}} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Owner%+v.Validate() = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestRecordValidate(t *testing.T) {
	ok := Record{FQDN: "shop.example.com", A: addrs(ip4), Owner: me}
	if err := ok.Validate("example.com."); err != nil {
		t.Fatalf("valid record: %v", err)
	}
	apex := Record{FQDN: "example.com", AAAA: addrs(ip6), Owner: me}
	if err := apex.Validate("example.com"); err != nil {
		t.Fatalf("apex record: %v", err)
	}
	bad := map[string]Record{
		"outside zone":  {FQDN: "shop.example.net", A: addrs(ip4), Owner: me},
		"suffix trick":  {FQDN: "badexample.com", A: addrs(ip4), Owner: me},
		"no address":    {FQDN: "shop.example.com", Owner: me},
		"v6 in A":       {FQDN: "shop.example.com", A: addrs(ip6), Owner: me},
		"v4 in AAAA":    {FQDN: "shop.example.com", AAAA: addrs(ip4), Owner: me},
		"bad character": {FQDN: "sh op.example.com", A: addrs(ip4), Owner: me},
		"empty label":   {FQDN: "shop..example.com", A: addrs(ip4), Owner: me},
		"no owner":      {FQDN: "shop.example.com", A: addrs(ip4)},
	}
	for name, r := range bad {
		if err := r.Validate("example.com"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
}
