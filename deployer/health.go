package deployer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HTTPHealth polls an HTTP URL until it answers 2xx: every 10 ms at
// first, since a new container is usually ready within a few hundred
// milliseconds and every poll it waits for is added to the deploy, then a
// quarter slower at each attempt, up to Interval.
type HTTPHealth struct {
	Client   *http.Client  // default: 2 s timeout per attempt
	Interval time.Duration // default: 200 ms between attempts, at most
}

var _ HealthChecker = HTTPHealth{}

// firstPoll is the wait after the first failed attempt.
const firstPoll = 10 * time.Millisecond

// WaitHealthy polls url until a 2xx answer, or returns ErrUnhealthy with
// the last failure once ctx ends.
func (h HTTPHealth) WaitHealthy(ctx context.Context, url string) error {
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	client = probeClient(client)
	interval := h.Interval
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	wait := min(firstPoll, interval)
	t := time.NewTimer(wait)
	defer t.Stop()
	var last error
	for {
		err := probe(ctx, client, url)
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil {
			last = err // keep the real failure, not the cancellation that ended it
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %v", ErrUnhealthy, url, last)
		case <-t.C:
		}
		wait = min(wait+wait/4+time.Millisecond, interval)
	}
}

func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
