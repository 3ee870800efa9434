package intake

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/metrics"
)

// The ingestion benchmarks send distribution notifications, each a new
// push (its own event id and digest), over real HTTP to the real routes:
// every one is authenticated, parsed, matched, deduplicated and stored in
// the inbox of a real redis-server before its 202, while the real inbox
// consumer feeds them to the coalescing queue and acknowledges them once
// a (fake, 100 ms) deploy covering them is done.
// Clients and server share the machine. Each runs twice in the same
// process, without metrics and then counting every delivery in the real
// Prometheus metrics, so the cost of metrics shows side by side.
//
//	go test -run '^$' -bench WebhookIngest -benchtime 20000x ./intake/

// BenchmarkWebhookIngestAt2000 offers a steady 2,000 deliveries/s (open
// loop: a delivery is due at its slot whether or not earlier ones were
// answered, and its latency counts from the slot, so a backlog shows) and
// reports the achieved rate and the p50/p99 latency of the 202.
func BenchmarkWebhookIngestAt2000(b *testing.B) {
	withAndWithoutMetrics(b, func(b *testing.B, obs Observer) { benchIngest(b, 2000, 64, obs) })
}

// BenchmarkWebhookIngestMax runs 32 clients back to back (closed loop) and
// reports the highest rate the sidecar sustains and its latency there.
func BenchmarkWebhookIngestMax(b *testing.B) {
	withAndWithoutMetrics(b, func(b *testing.B, obs Observer) { benchIngest(b, 0, 32, obs) })
}

// withAndWithoutMetrics runs bench as sub-benchmarks metrics=off (no
// observer) and metrics=on (the sidecar's metrics, on a registry of their
// own, counting every delivery).
func withAndWithoutMetrics(b *testing.B, bench func(*testing.B, Observer)) {
	b.Run("metrics=off", func(b *testing.B) { bench(b, nil) })
	b.Run("metrics=on", func(b *testing.B) {
		bench(b, metricsObserver{metrics.New(metrics.Options{Sources: []string{SourceDistribution, SourceAPI}})})
	})
}

// metricsObserver counts deliveries in metrics, as the sidecar's observer
// does.
type metricsObserver struct{ m *metrics.Metrics }

func (o metricsObserver) WebhookDelivery(source, outcome string) {
	o.m.WebhookDelivery(source, outcome)
}
func (o metricsObserver) RequestFinished(string, deployer.Event) {}

// benchIngest sends b.N deliveries at rate per second (0: as fast as
// workers go) from the given number of concurrent workers.
func benchIngest(b *testing.B, rate float64, workers int, obs Observer) {
	// The sidecar logs a JSON line per delivery, to a file as it would to
	// stderr: the cost is part of the path.
	logFile, err := os.Create(filepath.Join(b.TempDir(), "sidecar.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = logFile.Close() })
	f := newHookFixtureLogging(b, logFile, demo())
	if obs != nil {
		f.in.cfg.Observer = obs
	}
	// A deploy takes seconds (pull, start, health check, drain); 100 ms is
	// a fast one. Deliveries arriving meanwhile coalesce, as they would.
	f.deployIn = 100 * time.Millisecond
	f.consume()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	url := f.srv.URL + "/v1/hooks/distribution"
	var seq atomic.Int64
	send := func() error {
		body := distPush(fmt.Sprintf("bench-%d", seq.Add(1)), "latest", time.Now())
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v2+json")
		req.Header.Set("Authorization", "Bearer "+testSecret)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body) // read to EOF, or the connection is not reused
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	run := func(n int) ([]time.Duration, time.Duration) {
		slots := make(chan time.Time, workers)
		lat := make([][]time.Duration, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for due := range slots {
					if err := send(); err != nil {
						b.Error(err)
					}
					lat[w] = append(lat[w], time.Since(due))
				}
			})
		}
		start := time.Now()
		for i := range n {
			due := time.Now()
			if rate > 0 {
				due = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				time.Sleep(time.Until(due))
			}
			slots <- due
		}
		close(slots)
		wg.Wait()
		return slices.Concat(lat...), time.Since(start)
	}
	run(min(b.N, 500)) // warm connections and Redis
	b.ReportAllocs()
	cpu0, redis0 := processCPU(), redisCPU(b, f)
	b.ResetTimer()
	all, elapsed := run(b.N)
	b.StopTimer()
	cpu, redisUsed := processCPU()-cpu0, redisCPU(b, f)-redis0
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-µs/delivery")
	b.ReportMetric(float64(redisUsed.Microseconds())/float64(len(all)), "redis-cpu-µs/delivery")
	b.ReportMetric(0, "ns/op")
	if n, err := f.store.InboxLen(b.Context()); err == nil {
		b.Logf("%d deliveries in %s; p90 %.1f ms, p99.9 %.1f ms, max %.1f ms; %d inbox entries left to acknowledge",
			len(all), elapsed.Round(time.Millisecond), pct(0.90), pct(0.999), pct(1), n)
	}
}

// processCPU is the CPU time this process used so far: the sidecar's
// handlers and consumer, and the benchmark's own HTTP clients.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time redis-server reports it used (INFO cpu).
func redisCPU(b *testing.B, f *hookFixture) time.Duration {
	info, err := f.store.Client().Info(b.Context(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			x, _ := strconv.ParseFloat(v, 64)
			total += x
		}
	}
	return time.Duration(total * float64(time.Second))
}
