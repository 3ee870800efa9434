package deployer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HTTPHealth polls an HTTP URL until it answers 2xx.
type HTTPHealth struct {
	Client   *http.Client  // default: 2 s timeout per attempt
	Interval time.Duration // default: 200 ms between attempts
}

var _ HealthChecker = HTTPHealth{}

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
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last error
	for {
		err := probe(ctx, client, url)
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil {
			last = err // keep the real failure, not the cancellation that ended it
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %v", ErrUnhealthy, url, last)
		case <-tick.C:
		}
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
