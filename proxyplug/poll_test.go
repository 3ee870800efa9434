package proxyplug

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPollKeepsTheRealFailure(t *testing.T) {
	calls := 0
	err := Poll(context.Background(), time.Millisecond, func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Poll = %v after %d calls, want success on the third", err, calls)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = Poll(ctx, time.Millisecond, func(ctx context.Context) error {
		if ctx.Err() != nil {
			return ctx.Err() // what a cut-short HTTP call returns
		}
		return errors.New("upstream 10.0.0.2:8080 not in the pool")
	})
	if err == nil || err.Error() != "upstream 10.0.0.2:8080 not in the pool" {
		t.Fatalf("Poll at its deadline = %v, want the last real mismatch", err)
	}
}
