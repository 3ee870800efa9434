package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestHostClaimsAreFirstComeAndAtomic: many workloads racing for one host
// end with exactly one owner, seen by all; a release drops only the
// releaser's own claims.
func TestHostClaimsAreFirstComeAndAtomic(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testsvc.Redis(t), "tf-test-"+testsvc.RunID+"-hosts:")
	var wg sync.WaitGroup
	owners := make([]string, 20)
	for i := range owners {
		wg.Go(func() {
			got, err := s.ClaimHosts(ctx, fmt.Sprintf("w%d", i), []string{"shared.test", fmt.Sprintf("own%d.test", i)})
			if err != nil {
				t.Error(err)
				return
			}
			owners[i] = got["shared.test"]
			if got[fmt.Sprintf("own%d.test", i)] != fmt.Sprintf("w%d", i) {
				t.Errorf("w%d did not get its own host: %v", i, got)
			}
		})
	}
	wg.Wait()
	for _, o := range owners {
		if o != owners[0] || o == "" {
			t.Fatalf("owners seen = %v, want one owner for all", owners)
		}
	}
	winner := owners[0]
	other := "w0"
	if winner == "w0" {
		other = "w1"
	}
	if err := s.ReleaseHosts(ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	all, err := s.HostOwners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if all["shared.test"] != winner || all["own"+other[1:]+".test"] != "" {
		t.Fatalf("after %s released everything: %v", other, all)
	}
	if err := s.ReleaseHosts(ctx, winner, []string{"shared.test"}); err != nil {
		t.Fatal(err)
	}
	all, _ = s.HostOwners(ctx)
	if all["shared.test"] != winner || all["own"+winner[1:]+".test"] != "" {
		t.Fatalf("release keeping shared.test: %v", all)
	}
}
