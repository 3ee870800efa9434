package demo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// demo is one run of the demo: its configuration (what the test set in
// its environment) and what the checks learned so far.
type demo struct {
	t                       *testing.T
	docker                  *client.Client
	name                    string // DEMO_NAME: the workload, and the value of demoLabel
	bin                     string // TINYFORGE
	redisPort, registryPort int
	caddyAdmin, caddyHTTP   string
	sidecar                 string
	watch                   time.Duration
	summary, sync           string // DEMO_SUMMARY and DEMO_SYNC paths
	tmp                     string // TMPDIR

	section    string   // the checkpoint the current lines lead up to
	facts      []fact   // DEMO_SUMMARY lines of the current section
	factsRead  int      // DEMO_SUMMARY lines read so far
	matched    []string // sentence keys matched in the current section
	listing    string   // the container listing the next lines belong to
	listed     []string // container lines of the current listing
	state      *state   // what the checks learned from the real state
	testClient *hammer
}

func newDemo(t *testing.T, docker *client.Client) *demo {
	dir := t.TempDir()
	d := &demo{
		t: t, docker: docker,
		name:         "demo-" + testsvc.RunID,
		bin:          buildTinyforge(t),
		redisPort:    testsvc.FreePort(t),
		registryPort: testsvc.FreePort(t),
		caddyAdmin:   fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t)),
		caddyHTTP:    fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t)),
		sidecar:      fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t)),
		watch:        10 * time.Second, // the sidecar's default, as a user sees it
		tmp:          t.TempDir(),
		summary:      filepath.Join(dir, "summary.jsonl"),
		sync:         filepath.Join(dir, "sync"),
		state:        newState(),
	}
	if err := syscall.Mkfifo(d.sync, 0o600); err != nil {
		t.Fatalf("mkfifo %s: %v", d.sync, err)
	}
	return d
}

// buildTinyforge compiles the binary the demo runs, as make demo does.
func buildTinyforge(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tinyforge")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/tinyforge")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tinyforge: %v\n%s", err, out)
	}
	return bin
}

func (d *demo) env() []string {
	return append(os.Environ(),
		"DEMO_NAME="+d.name, "TINYFORGE="+d.bin,
		"REDIS_PORT="+strconv.Itoa(d.redisPort), "REGISTRY_PORT="+strconv.Itoa(d.registryPort),
		"CADDY_ADMIN="+d.caddyAdmin, "CADDY_HTTP="+d.caddyHTTP, "SIDECAR="+d.sidecar,
		"WATCH="+strconv.Itoa(int(d.watch/time.Second)),
		"DEMO_SUMMARY="+d.summary, "DEMO_SYNC="+d.sync, "KEEP=0",
		"TMPDIR="+d.tmp) // its work directory, kept when it fails, goes with the test's
}

// running is the demo process and what it printed.
type running struct {
	cmd    *exec.Cmd
	lines  *bufio.Scanner
	stderr bytes.Buffer
	sync   string
	done   chan struct{} // closed once the process is reaped
	reap   sync.Once
	err    error
}

// start runs scripts/demo.sh; the test's cleanup stops it (SIGTERM, so
// its own cleanup runs) if it is still running.
func (d *demo) start(t *testing.T) *running {
	r := &running{sync: d.sync, done: make(chan struct{})}
	r.cmd = exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "demo.sh"))
	r.cmd.Env = d.env()
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop signals it all, as Ctrl-C would
	r.cmd.Stderr = &r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.lines = bufio.NewScanner(out)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start scripts/demo.sh: %v", err)
	}
	t.Logf("demo %s started: sidecar %s, caddy %s", d.name, d.sidecar, d.caddyHTTP)
	t.Cleanup(func() { r.stop(t) })
	return r
}

// run reads the demo's output; at each checkpoint it hands the lines
// printed since the previous one to check, then lets the demo go on. The
// lines after the last checkpoint form the section "end". It returns the
// sections in the order they came.
func (r *running) run(t *testing.T, check func(section string, lines []string)) []string {
	var sections, lines []string
	for r.lines.Scan() {
		l := r.lines.Text()
		t.Log("demo: " + l)
		name, ok := strings.CutPrefix(l, "@checkpoint ")
		if !ok {
			lines = append(lines, l)
			continue
		}
		sections = append(sections, name)
		check(name, lines)
		lines = nil
		if err := r.ack(); err != nil {
			t.Errorf("checkpoint %s: answering the demo: %v", name, err)
			return sections
		}
	}
	sections = append(sections, "end")
	check("end", lines)
	return sections
}

// ack lets the demo go on from a checkpoint: it reads one line from the
// FIFO.
func (r *running) ack() error {
	f, err := os.OpenFile(r.sync, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString("ok\n")
	return err
}

// waiter reaps the demo process once, closing done when it exited.
func (r *running) waiter() {
	r.reap.Do(func() { go func() { r.err = r.cmd.Wait(); close(r.done) }() })
}

// wait waits for the demo to exit, at most five minutes; call it once its
// output is read to the end.
func (r *running) wait() error {
	r.waiter()
	select {
	case <-r.done:
		return r.err
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("still running after 5 minutes")
	}
}

// stop ends a demo still running as Ctrl-C would: SIGTERM to its process
// group (its trap cleans up), an answer on the FIFO in case it waits at a
// checkpoint, then SIGKILL after 90 s.
func (r *running) stop(t *testing.T) {
	select {
	case <-r.done:
		return
	default:
	}
	t.Log("stopping the demo")
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	if f, err := os.OpenFile(r.sync, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		_, _ = f.WriteString("stop\n")
		_ = f.Close()
	}
	r.waiter()
	select {
	case <-r.done:
	case <-time.After(90 * time.Second):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
}

// fact is one DEMO_SUMMARY line.
type fact struct {
	Push     string `json:"push"`
	Rollback bool   `json:"rollback"`
	AtMS     int64  `json:"at_ms"`
	Served   string `json:"served"`
	Removed  string `json:"removed"`
	Recorded string `json:"recorded"`
	Tag      string `json:"tag"`
	MS       int64  `json:"ms"`
	Outcome  string `json:"outcome"`
	Client   *struct {
		Requests int `json:"requests"`
		Failed   int `json:"failed"`
	} `json:"client"`
}

// readFacts reads the DEMO_SUMMARY lines written since the last call.
func (d *demo) readFacts() []fact {
	b, err := os.ReadFile(d.summary)
	if err != nil && !os.IsNotExist(err) {
		d.t.Fatalf("read DEMO_SUMMARY: %v", err)
	}
	all := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(b) == 0 {
		all = nil
	}
	var out []fact
	for _, l := range all[d.factsRead:] {
		var f fact
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			d.t.Errorf("DEMO_SUMMARY line %q: %v", l, err)
			continue
		}
		out = append(out, f)
	}
	d.factsRead = len(all)
	return out
}
