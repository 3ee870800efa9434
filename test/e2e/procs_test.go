package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// sidecarProc is one sidecar process a test starts, kills, freezes and
// restarts at will (the stack's own startSidecar expects a clean exit).
type sidecarProc struct {
	s       *stack
	id      string
	port    int
	url     string
	logPath string
	env     []string
	args    []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	runs int
}

// procOpts vary one sidecar of a stack.
type procOpts struct {
	id   string   // --instance-id (default "a")
	port int      // API port (default: the stack's)
	env  []string // extra environment, e.g. the test pause hook
	args []string // extra flags; they win over the stack's
}

// launch starts a sidecar of the stack with a short lock TTL, so a killed
// one's deploy is recovered within seconds, and waits until it is healthy.
func (s *stack) launch(o procOpts) *sidecarProc {
	s.t.Helper()
	if o.id == "" {
		o.id = "a"
	}
	if o.port == 0 {
		o.port = s.port
	}
	p := &sidecarProc{
		s: s, id: o.id, port: o.port, url: fmt.Sprintf("http://127.0.0.1:%d", o.port),
		logPath: filepath.Join(s.t.TempDir(), "sidecar-"+o.id+".log"),
	}
	p.args = append(s.sidecarArgs(o.port), "--instance-id", o.id, "--lock-ttl", "2s")
	p.args = append(p.args, o.args...)
	p.env = append(s.sidecarEnv(s.redisURL, s.webhookToken), o.env...)
	s.t.Cleanup(p.cleanup)
	p.start(nil)
	return p
}

// sidecarEnv is the environment of a sidecar of this stack: the Redis URL
// and the tokens come through the environment twins.
func (s *stack) sidecarEnv(redisURL, webhookToken string) []string {
	return append(os.Environ(),
		"TINYFORGE_REDIS_URL="+redisURL,
		"TINYFORGE_WEBHOOK_TOKEN="+webhookToken,
		"TINYFORGE_API_TOKEN="+s.apiToken,
	)
}

// waitHealthy waits until the sidecar at url answers /healthz with 200.
func (s *stack) waitHealthy(url string) {
	s.t.Helper()
	eventually(s.t, 15*time.Second, "sidecar healthy", func() bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// start (re)starts the process; extraEnv replaces the launch-time extras
// when not nil (e.g. to set or clear the pause hook).
func (p *sidecarProc) start(extraEnv []string) {
	t := p.s.t
	t.Helper()
	bin, err := sidecarBin()
	if err != nil {
		t.Fatal(err)
	}
	env := p.env
	if extraEnv != nil {
		env = append(p.s.sidecarEnv(p.s.redisURL, p.s.webhookToken), extraEnv...)
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, p.args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.log, p.done = cmd, f, done
	p.runs++
	p.mu.Unlock()
	p.s.waitHealthy(p.url)
}

// kill sends SIGKILL and waits for the process to be gone: no shutdown
// code runs, exactly like a crash.
func (p *sidecarProc) kill() {
	p.mu.Lock()
	cmd, done, f := p.cmd, p.done, p.log
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	_ = f.Close()
}

// freeze and thaw send SIGSTOP and SIGCONT.
func (p *sidecarProc) freeze() { p.signal(syscall.SIGSTOP) }
func (p *sidecarProc) thaw()   { p.signal(syscall.SIGCONT) }

func (p *sidecarProc) signal(sig os.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.s.t.Fatalf("signal %v to sidecar %s: %v", sig, p.id, err)
	}
}

// stop shuts the sidecar down with SIGINT and expects a clean exit.
func (p *sidecarProc) stop() {
	p.mu.Lock()
	cmd, done, f := p.cmd, p.done, p.log
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGCONT) // in case it was frozen
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
		if !cmd.ProcessState.Success() {
			p.s.t.Errorf("sidecar %s exited uncleanly on SIGINT: %v", p.id, cmd.ProcessState)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		p.s.t.Errorf("sidecar %s did not stop within 30s of SIGINT", p.id)
	}
	_ = f.Close()
}

func (p *sidecarProc) cleanup() {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return // never started
	}
	select {
	case <-done:
	default:
		p.stop()
	}
	if p.s.t.Failed() {
		out, _ := os.ReadFile(p.logPath)
		if len(out) > 15000 {
			out = out[len(out)-15000:]
		}
		p.s.t.Logf("sidecar %s log (tail):\n%s", p.id, out)
	}
}

// waitDeclared waits until the sidecar has read the workload's controller:
// it answers /healthz before its first controller listing.
func (p *sidecarProc) waitDeclared() {
	p.s.t.Helper()
	eventually(p.s.t, 15*time.Second, "workload declared on sidecar "+p.id, func() bool {
		return p.s.statusAt(p.url).Config != nil
	})
}

// logLine is the part of a sidecar JSON log line the tests match.
type logLine struct {
	Message string `json:"message"`
	Step    string `json:"step"`
	Error   string `json:"error"`
}

// logged reports how many log lines satisfy match.
func (p *sidecarProc) logged(match func(logLine) bool) int {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return 0
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && match(l) {
			n++
		}
	}
	return n
}

// waitPaused waits until a deploy logs that the test hook paused it at step.
func (p *sidecarProc) waitPaused(step string, before int) {
	p.s.t.Helper()
	eventually(p.s.t, 60*time.Second, "deploy paused at "+step, func() bool { return p.pausedCount(step) > before })
}

func (p *sidecarProc) pausedCount(step string) int {
	return p.logged(func(l logLine) bool {
		return l.Message == "TEST HOOK: deploy paused at step boundary" && l.Step == step
	})
}

// pauseEnv is the environment of the test-only pause hook.
func pauseEnv(step string) []string { return []string{"TINYFORGE_TEST_PAUSE_AT=" + step} }

// apiAt calls the management API of the sidecar at base and decodes a JSON
// answer into out (when not nil); it returns the status code.
func (s *stack) apiAt(base, method, path string, out any) int {
	s.t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			s.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// deploys returns the workload's deploy history through the API.
func (s *stack) deploys(base string) []deployer.Event {
	s.t.Helper()
	var out struct{ Deploys []deployer.Event }
	if code := s.apiAt(base, http.MethodGet, "/v1/workloads/"+s.workload+"/deploys?limit=1000", &out); code != http.StatusOK {
		s.t.Fatalf("GET deploys: %d", code)
	}
	return out.Deploys
}

// rollback asks the sidecar at base to roll the workload back.
func (s *stack) rollback(base string) map[string]string {
	s.t.Helper()
	var out map[string]string
	if code := s.apiAt(base, http.MethodPost, "/v1/workloads/"+s.workload+"/rollback", &out); code != http.StatusAccepted {
		s.t.Fatalf("POST rollback: %d", code)
	}
	return out
}

// redisClient opens a client on the stack's Redis, for checks the API
// does not expose (open journals).
func (s *stack) redisClient() *redis.Client {
	opts, err := redis.ParseURL(s.redisURL)
	if err != nil {
		s.t.Fatal(err)
	}
	c := redis.NewClient(opts)
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// openJournals counts unfinished deploys in Redis.
func (s *stack) openJournals(c *redis.Client) int64 {
	n, err := c.HLen(context.Background(), "tf-e2e:"+s.workload+":journals").Result()
	if err != nil {
		return -1
	}
	return n
}

// converged checks the state the issue asks for after any failure: one
// running container, routed in the store, recorded exactly, serving
// version through Caddy, and no unfinished deploy.
func (s *stack) converged(base string, rc *redis.Client, version string) (bool, string) {
	cs := s.workloadContainers(true)
	if len(cs) != 1 || cs[0].State != "running" {
		return false, fmt.Sprintf("%d containers (%v)", len(cs), tags(cs))
	}
	if n := s.openJournals(rc); n != 0 {
		return false, fmt.Sprintf("%d open journals", n)
	}
	st, code := s.tryStatusAt(base)
	if code != http.StatusOK {
		return false, fmt.Sprintf("GET /v1/workloads answered %d", code)
	}
	if len(st.Instances) != 1 || st.Instances[0].ID != cs[0].ID {
		return false, fmt.Sprintf("records %v, want only %s", st.Instances, cs[0].ID[:12])
	}
	for _, r := range st.Routes {
		if r.Container != cs[0].ID {
			return false, fmt.Sprintf("route %s on %s, want %s", r.ID, r.Container, cs[0].ID[:12])
		}
	}
	if len(st.Routes) == 0 {
		return false, "no routes"
	}
	code, body, err := s.get(&http.Client{Timeout: 2 * time.Second}, "/")
	if err != nil || code != 200 || body != version {
		return false, fmt.Sprintf("caddy served %d %q %v, want %s", code, body, err, version)
	}
	return true, ""
}

// statusAt is status() against any sidecar of the stack.
func (s *stack) statusAt(base string) workloadStatus {
	s.t.Helper()
	st, code := s.tryStatusAt(base)
	if code != http.StatusOK {
		s.t.Fatalf("GET /v1/workloads: %d", code)
	}
	return st
}

// tryStatusAt is statusAt returning the status code instead of failing:
// 503 is a fine answer while Redis is away.
func (s *stack) tryStatusAt(base string) (workloadStatus, int) {
	s.t.Helper()
	var out struct {
		Workloads map[string]workloadStatus `json:"workloads"`
	}
	code := s.apiAt(base, http.MethodGet, "/v1/workloads", &out)
	return out.Workloads[s.workload], code
}

// waitConverged waits until converged holds and returns how long it took.
func (s *stack) waitConverged(base string, rc *redis.Client, version string, within time.Duration) time.Duration {
	s.t.Helper()
	start := time.Now()
	var why string
	deadline := start.Add(within)
	for {
		ok, reason := s.converged(base, rc, version)
		if ok {
			return time.Since(start)
		}
		why = reason
		if time.Now().After(deadline) {
			s.t.Fatalf("not converged on %s within %s: %s", version, within, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pushDigest pushes a version and returns its manifest digest, without
// waiting for any deploy.
func (s *stack) pushDigest(tag string, env ...string) string {
	ref := s.version(tag, env...)
	return testsvc.Push(s.t, s.cli, ref)
}

// notify posts a distribution notification for tag@digest, with a fresh
// event id, to the sidecar at base, and returns the status code.
func (s *stack) notify(base, tag, digest string) int {
	repo := strings.TrimPrefix(s.repo, s.registry.Host+"/")
	// The event carries its push time, as the registry's do: a sidecar that
	// takes over another's unfinished entries must not deploy an older push
	// after a newer one.
	now := time.Now()
	body := fmt.Sprintf(`{"events":[{"id":"e2e-%d","timestamp":%q,"action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":%q,"repository":%q,"tag":%q},"request":{"host":%q}}]}`,
		now.UnixNano(), now.UTC().Format(time.RFC3339Nano), digest, repo, tag, s.registry.Host)
	d := delivery{ContentType: "application/vnd.docker.distribution.events.v1+json", Auth: "Bearer " + s.webhookToken, Body: []byte(body)}
	return d.send(base + "/v1/hooks/distribution")
}
