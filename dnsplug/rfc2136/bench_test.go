package rfc2136_test

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkEnsure measures what a record adds to a first deploy against a
// real knotd on loopback: read, one signed UPDATE, read back until
// confirmed (create); and what it adds to every later deploy (unchanged).
func BenchmarkEnsure(b *testing.B) {
	s, _, m := knotZone(b)
	ctx := context.Background()
	n := 0 // names stay unique across the runs the benchmark makes
	b.Run("create", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n++
			if st, err := m.Ensure(ctx, record(s, fmt.Sprintf("new-%d", n))); err != nil || !st.Changed {
				b.Fatalf("Ensure = %+v, %v", st, err)
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		r := record(s, "steady")
		if _, err := m.Ensure(ctx, r); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if st, err := m.Ensure(ctx, r); err != nil || st.Changed {
				b.Fatalf("Ensure = %+v, %v", st, err)
			}
		}
	})
}
