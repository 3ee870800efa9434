package deployer

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tinyforge/tinyforge/internal/redirect"
	"github.com/tinyforge/tinyforge/labels"
)

// Probe is what a health check of a container sends, as the workload's
// labels ask: an HTTP GET of a path or a TCP connection, to Addr.
type Probe struct {
	Kind labels.HealthKind // labels.HealthHTTP or labels.HealthTCP
	Addr string            // host:port of the container the probe reaches
	Path string            // HTTP: the path to GET
	Host string            // HTTP: the Host header; "" sends Addr
	// Healthy says which HTTP status codes pass; nil passes 2xx.
	Healthy func(code int) bool
	// Interval is the most time between two probes; 0 leaves it to the
	// checker.
	Interval time.Duration
}

// Target names what the probe reaches, for messages: an http:// URL, or
// tcp://host:port.
func (p Probe) Target() string {
	if p.Kind == labels.HealthTCP {
		return "tcp://" + p.Addr
	}
	return "http://" + p.Addr + p.Path
}

// Prober polls a Probe until it passes: every 10 ms at first, since a new
// container is usually ready within a few hundred milliseconds and every
// poll it waits for is added to the deploy, then a quarter slower at each
// attempt, up to the probe's interval.
type Prober struct {
	Client   *http.Client  // default: 2 s timeout per attempt
	Interval time.Duration // default: 200 ms between attempts, at most, unless the probe says
}

var _ HealthChecker = Prober{}

// firstPoll is the wait after the first failed attempt.
const firstPoll = 10 * time.Millisecond

// dialTimeout bounds one TCP probe.
const dialTimeout = 2 * time.Second

// WaitHealthy polls p until it passes, or returns ErrUnhealthy with the
// last failure once ctx ends.
func (h Prober) WaitHealthy(ctx context.Context, p Probe) error {
	client := h.httpClient(p)
	interval := p.Interval
	if interval <= 0 {
		interval = h.Interval
	}
	if interval <= 0 {
		interval = labels.DefaultHealthInterval
	}
	wait := min(firstPoll, interval)
	t := time.NewTimer(wait)
	defer t.Stop()
	var last error
	for {
		err := probeOnce(ctx, client, p)
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil {
			last = err // keep the real failure, not the cancellation that ended it
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %v", ErrUnhealthy, p.Target(), last)
		case <-t.C:
		}
		wait = min(wait+wait/4+time.Millisecond, interval)
	}
}

// httpClient is the client of p's HTTP probes. A redirect to another
// host is never followed (redirect.SameHost): a container's answer must
// not make the sidecar send requests elsewhere. A redirect whose own code
// the workload counts healthy (healthStatus 200-399) is judged as it is.
func (h Prober) httpClient(p Probe) *http.Client {
	var c http.Client
	if h.Client != nil {
		c = *h.Client
	} else {
		c.Timeout = 2 * time.Second
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Response != nil && p.Healthy != nil && p.Healthy(req.Response.StatusCode) {
			return http.ErrUseLastResponse
		}
		return redirect.SameHost(req, via)
	}
	return &c
}

// probeOnce sends one probe: nil when it passed.
func probeOnce(ctx context.Context, client *http.Client, p Probe) error {
	switch p.Kind {
	case labels.HealthTCP:
		conn, err := (&net.Dialer{Timeout: dialTimeout}).DialContext(ctx, "tcp", p.Addr)
		if err != nil {
			return err
		}
		return conn.Close()
	case labels.HealthHTTP:
		return probeHTTP(ctx, client, p)
	}
	return fmt.Errorf("no probe for healthcheck %q", p.Kind)
}

func probeHTTP(ctx context.Context, client *http.Client, p Probe) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Target(), nil)
	if err != nil {
		return err
	}
	if p.Host != "" {
		req.Host = p.Host
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	healthy := p.Healthy
	if healthy == nil {
		healthy = func(code int) bool { return code >= 200 && code <= 299 }
	}
	if !healthy(resp.StatusCode) {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
