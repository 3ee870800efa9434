package cloudflare_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/dnsplug"
	"github.com/tinyforge/tinyforge/dnsplug/cloudflare"
	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

var (
	owner   = dnsplug.Owner{Instance: "edge-1", Workload: "shop/web"}
	ownerTX = `TXT "heritage=tinyforge,tinyforge/owner=edge-1,tinyforge/workload=shop/web"`
	shop    = dnsplug.Record{FQDN: "shop.example.com", A: []netip.Addr{netip.MustParseAddr("203.0.113.7")},
		AAAA: []netip.Addr{netip.MustParseAddr("2001:db8::7")}, Owner: owner}
)

// setup returns the fake, a manager over it, and the waits it backed off.
func setup(t *testing.T, mod func(*cloudflare.Options)) (*fakeCF, *dnsplug.Manager, *[]time.Duration) {
	t.Helper()
	f, url := newFake(t, "example.net", "example.com")
	var waits []time.Duration
	o := cloudflare.Options{Token: f.token, Zone: "example.com", BaseURL: url,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	if mod != nil {
		mod(&o)
	}
	z, err := cloudflare.New(o)
	if err != nil {
		t.Fatalf("cloudflare.New: %v", err)
	}
	return f, dnsplug.NewManager("example.com", z, time.Second), &waits
}

func (f *fakeCF) zoneList() []string { // records of example.com (zone index 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.records[f.zones[1].ID] {
		out = append(out, r.Type+" "+r.Content)
	}
	slices.Sort(out)
	return out
}

func TestEnsureCreatesThenChangesNothing(t *testing.T) {
	f, m, _ := setup(t, nil)
	ctx := context.Background()
	st, err := m.Ensure(ctx, shop)
	if err != nil || st.State != dnsrec.StateOK || !st.Changed {
		t.Fatalf("Ensure = %+v, %v", st, err)
	}
	want := []string{"A 203.0.113.7", "AAAA 2001:db8::7", ownerTX}
	if got := f.zoneList(); !slices.Equal(got, want) {
		t.Fatalf("zone holds %v, want %v", got, want)
	}
	muts := f.mutations()
	if len(muts) != 3 || !strings.HasPrefix(muts[0], "POST") {
		t.Fatalf("mutations = %v, want 3 POSTs", muts)
	}
	f.mu.Lock()
	first := f.records[f.zones[1].ID][0]
	f.mu.Unlock()
	if first.Type != "TXT" || first.TTL != 300 {
		t.Errorf("first record created = %+v, want the ownership TXT with TTL 300", first)
	}
	if st, err := m.Ensure(ctx, shop); err != nil || st.Changed {
		t.Fatalf("second Ensure = %+v, %v", st, err)
	}
	if got := f.mutations(); len(got) != 3 {
		t.Errorf("second Ensure changed the zone: %v", got[3:])
	}
}

func TestRemoveDeletesOnlyOwnedRecordsOwnershipLast(t *testing.T) {
	f, m, _ := setup(t, nil)
	ctx := context.Background()
	f.seed(1, "TXT", "shop.example.com", `"v=spf1 -all"`)
	if _, err := m.Ensure(ctx, shop); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	st, err := m.Remove(ctx, shop.FQDN, owner)
	if err != nil || st.State != dnsrec.StateRemoved || !st.Changed {
		t.Fatalf("Remove = %+v, %v", st, err)
	}
	if got := f.zoneList(); !slices.Equal(got, []string{`TXT "v=spf1 -all"`}) {
		t.Errorf("zone after Remove = %v, want only the operator's SPF", got)
	}
	muts := f.mutations()
	if last := muts[len(muts)-1]; !strings.HasPrefix(last, "DELETE") || len(muts) != 6 {
		t.Fatalf("mutations = %v, want 3 POSTs then 3 DELETEs", muts)
	}
	if _, err := m.Remove(ctx, shop.FQDN, owner); err != nil || len(f.mutations()) != 6 {
		t.Errorf("second Remove = %v, mutations %v", err, f.mutations())
	}
}

func TestHandMadeRecordIsNeverTouched(t *testing.T) {
	f, m, _ := setup(t, nil)
	ctx := context.Background()
	f.seed(1, "A", "shop.example.com", "198.51.100.9")
	st, err := m.Ensure(ctx, shop)
	if !errors.Is(err, dnsplug.ErrConflict) || st.State != dnsrec.StateConflict || !strings.Contains(err.Error(), "shop.example.com") || !strings.Contains(err.Error(), "A 198.51.100.9") {
		t.Fatalf("Ensure over a hand-made A = %+v, %v", st, err)
	}
	if _, err := m.Remove(ctx, shop.FQDN, owner); !errors.Is(err, dnsplug.ErrConflict) {
		t.Errorf("Remove of a hand-made A = %v, want a conflict", err)
	}
	if muts := f.mutations(); len(muts) != 0 {
		t.Errorf("the zone was changed: %v", muts)
	}
}

func TestDriftRepairedByUpdateInPlace(t *testing.T) {
	f, m, _ := setup(t, nil)
	ctx := context.Background()
	if _, err := m.Ensure(ctx, shop); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	recs := f.records[f.zones[1].ID]
	for i := range recs {
		if recs[i].Type == "A" {
			recs[i].Content = "198.51.100.1" // changed by hand
		}
	}
	f.mu.Unlock()
	if v, err := m.Verify(ctx, shop); err != nil || v.State != dnsrec.StateDrift {
		t.Fatalf("Verify = %+v, %v; want drift", v, err)
	}
	if st, err := m.Ensure(ctx, shop); err != nil || !st.Changed {
		t.Fatalf("Ensure = %+v, %v", st, err)
	}
	muts := f.mutations()[3:]
	if len(muts) != 1 || !strings.HasPrefix(muts[0], "PATCH") {
		t.Errorf("repair = %v, want one PATCH", muts)
	}
	if got := f.zoneList(); !slices.Contains(got, "A 203.0.113.7") || slices.Contains(got, "A 198.51.100.1") {
		t.Errorf("zone after repair = %v", got)
	}
}

func TestListsEveryPage(t *testing.T) {
	f, m, _ := setup(t, nil)
	f.maxPerPage = 1
	ctx := context.Background()
	for _, v := range []string{"one", "two", "three"} {
		f.seed(1, "TXT", "shop.example.com", `"verify=`+v+`"`)
	}
	if _, err := m.Ensure(ctx, shop); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if st, err := m.Ensure(ctx, shop); err != nil || st.Changed || len(st.Records) != 6 {
		t.Fatalf("second Ensure over 6 one-record pages = %+v, %v; want 6 records, unchanged", st, err)
	}
	sawPage6 := false
	for _, c := range f.calls {
		sawPage6 = sawPage6 || strings.Contains(c, "page=6")
	}
	if !sawPage6 {
		t.Errorf("never asked for page 6: %v", f.calls)
	}
	if _, err := m.Remove(ctx, shop.FQDN, owner); err != nil {
		t.Fatal(err)
	}
	if got := f.zoneList(); len(got) != 3 {
		t.Errorf("after Remove: %v, want the three verify records", got)
	}
}

func TestBacksOffOnRateLimit(t *testing.T) {
	f, m, waits := setup(t, nil)
	f.limited, f.retryAfter = 2, "7"
	if _, err := m.Ensure(context.Background(), shop); err != nil {
		t.Fatalf("Ensure through two 429s: %v", err)
	}
	if !slices.Equal(*waits, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Errorf("waits = %v, want Retry-After's 7s twice", *waits)
	}

	f, m, waits = setup(t, func(o *cloudflare.Options) { o.MaxAttempts = 3 })
	f.limited, f.retryAfter = 100, ""
	_, err := m.Ensure(context.Background(), shop)
	if err == nil || !strings.Contains(err.Error(), "HTTP 429") || !strings.Contains(err.Error(), "971 Please wait") {
		t.Fatalf("Ensure while rate limited = %v, want the 429 and Cloudflare's message", err)
	}
	if !slices.Equal(*waits, []time.Duration{time.Second, 2 * time.Second}) {
		t.Errorf("waits without Retry-After = %v, want 1s then 2s", *waits)
	}
}

func TestBadTokenAndMissingZone(t *testing.T) {
	f, _, _ := setup(t, nil)
	_, url := newFake(t, "example.com")
	z, _ := cloudflare.New(cloudflare.Options{Token: "wrong-token-5678", Zone: "example.com", BaseURL: url})
	_, err := dnsplug.NewManager("example.com", z, time.Second).Ensure(context.Background(), shop)
	if !errors.Is(err, dnsplug.ErrRefused) || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "10000 Authentication error") {
		t.Errorf("Ensure with a wrong token = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-token-5678") {
		t.Errorf("error leaks the token: %v", err)
	}

	z, _ = cloudflare.New(cloudflare.Options{Token: f.token, Zone: "example.org", BaseURL: url})
	r := shop
	r.FQDN = "shop.example.org"
	_, err = dnsplug.NewManager("example.org", z, time.Second).Ensure(context.Background(), r)
	if !errors.Is(err, dnsplug.ErrZoneNotFound) || !strings.Contains(err.Error(), "example.org") {
		t.Errorf("Ensure in a zone the account lacks = %v", err)
	}
}
