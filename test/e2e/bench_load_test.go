package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// steadyLoad sends GETs for one host through Caddy at a fixed rate, open
// loop (a request is due every 1/rate whether or not the previous ones
// answered), and counts the ones that failed: a transport error, a status
// other than 200, or a body that is not a version.
type steadyLoad struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	sent   atomic.Int64
	failed atomic.Int64

	mu    sync.Mutex
	first []string // the first few failures, for the report
}

func startSteady(s *stack, host string, rate int) *steadyLoad {
	l := &steadyLoad{stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	l.wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			l.sent.Add(1)
			l.wg.Go(func() {
				code, body, err := s.getHost(client, host, "/")
				if err == nil && code == http.StatusOK && strings.HasPrefix(body, "v") {
					return
				}
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.first) < 5 {
					l.first = append(l.first, time.Now().Format("15:04:05.000")+" "+describe(code, body, err))
				}
				l.mu.Unlock()
			})
		}
	})
	return l
}

// end stops the load, waits for the requests in flight and returns how
// many were sent and how many failed.
func (l *steadyLoad) end() (sent, failed int64) {
	close(l.stop)
	l.wg.Wait()
	return l.sent.Load(), l.failed.Load()
}

// getHost is get for any public host behind the stack's Caddy.
func (s *stack) getHost(client *http.Client, host, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.caddy.HTTPAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// observer polls the workload's public host every 10 ms and keeps every
// change of the body it gets, with its time: when a version was first
// served, through Caddy, as a user would see it.
type observer struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	changes []seen
}

type seen struct {
	at   time.Time
	body string // "" for a failed request
}

func startObserver(s *stack) *observer {
	o := &observer{stop: make(chan struct{})}
	client := &http.Client{Timeout: 2 * time.Second}
	o.wg.Go(func() {
		last := "\x00"
		for {
			select {
			case <-o.stop:
				return
			default:
			}
			code, body, err := s.get(client, "/")
			now := time.Now()
			if err != nil || code != http.StatusOK {
				body = ""
			}
			if body != last {
				o.mu.Lock()
				o.changes = append(o.changes, seen{now, body})
				o.mu.Unlock()
				last = body
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return o
}

func (o *observer) end() { close(o.stop); o.wg.Wait() }

// servedAfter is when body was first served at or after since, if it was.
func (o *observer) servedAfter(body string, since time.Time) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.changes {
		if c.body == body && !c.at.Before(since) {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// procCPU is the user+system CPU time the process pid has used so far,
// from /proc (clock ticks of 10 ms).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// procRSS is the resident set size of pid, from /proc/<pid>/status.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// pid is the process id of the running sidecar.
func (p *sidecarProc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// stats is a sample of durations.
type stats []time.Duration

func (st stats) median() time.Duration {
	if len(st) == 0 {
		return 0
	}
	s := slices.Clone(st)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (st stats) max() time.Duration {
	if len(st) == 0 {
		return 0
	}
	return slices.Max(st)
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }
