package dnsplug

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// stuckZone accepts every change and never shows it, like a primary whose
// answers come from somewhere else.
type stuckZone struct {
	lookupErr error
	applied   int
}

func (z *stuckZone) Lookup(context.Context, string) (dnsrec.Records, error) {
	return dnsrec.Records{}, z.lookupErr
}
func (z *stuckZone) Apply(context.Context, dnsrec.Plan) error { z.applied++; return nil }

var rec = Record{FQDN: "shop.example.com", A: []netip.Addr{netip.MustParseAddr("203.0.113.7")}, Owner: Owner{Instance: "e", Workload: "w"}}

func TestEnsureWaitsForConfirmationThenSaysWhatIsMissing(t *testing.T) {
	z := &stuckZone{}
	m := NewManager("example.com", z, 300*time.Millisecond)
	m.poll = 10 * time.Millisecond
	start := time.Now()
	st, err := m.Ensure(context.Background(), rec)
	if !errors.Is(err, ErrNotConfirmed) || st.State != dnsrec.StateFailed || !st.Changed || z.applied != 1 {
		t.Fatalf("Ensure = %+v, %v (applied %d); want not confirmed", st, err, z.applied)
	}
	if !strings.Contains(err.Error(), "+A 203.0.113.7") || time.Since(start) < 300*time.Millisecond {
		t.Errorf("error %q after %s: want the missing record, after the confirm timeout", err, time.Since(start))
	}
}

func TestEnsureRefusesBadRecordsAndReportsLookupFailure(t *testing.T) {
	m := NewManager("example.com", &stuckZone{}, time.Second)
	r := rec
	r.FQDN = "shop.example.net"
	if st, err := m.Ensure(context.Background(), r); !errors.Is(err, ErrInvalid) || st.State != dnsrec.StateFailed {
		t.Errorf("Ensure outside the zone = %+v, %v", st, err)
	}
	z := &stuckZone{lookupErr: errors.New("lookup shop.example.com A at 10.0.0.1:53: i/o timeout")}
	st, err := NewManager("example.com", z, time.Second).Ensure(context.Background(), rec)
	if err == nil || st.State != dnsrec.StateFailed || !strings.Contains(st.Error, "i/o timeout") || z.applied != 0 {
		t.Errorf("Ensure with the server down = %+v, %v", st, err)
	}
}
