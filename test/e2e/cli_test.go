package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCLIAgainstSidecar runs every API command of the real binary against
// a real sidecar: status (table, detail, JSON), deploy --wait following
// the steps to the outcome (0 when served, 3 for a tag the registry does
// not have), deploys with its header, rollback --to a tag, and logs -f
// following the serving container across a deploy.
func TestCLIAgainstSidecar(t *testing.T) {
	s := newStack(t)
	s.startController("a", s.controllerLabels(nil))
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	s.push("v2")
	s.waitServed("v2", 60*time.Second)
	s.waitContainers(1)
	w := s.workload

	out, errOut, code := s.run(t, "status")
	if code != 0 || !strings.Contains(out, "WORKLOAD") || !strings.Contains(out, w) || !strings.Contains(out, "http://"+s.host) {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("tinyforge status:\n%s", out)
	out, _, code = s.run(t, "status", w)
	if code != 0 || !strings.Contains(out, "serving:   v2 sha256:") {
		t.Fatalf("status %s: exit %d\n%s", w, code, out)
	}
	// The drain forgets v1's record just after it removed the container.
	var st workloadStatus
	eventually(t, 10*time.Second, "status --json: one instance, v2", func() bool {
		out, _, _ = s.run(t, "status", "--json", w)
		st = workloadStatus{}
		return json.Unmarshal([]byte(out), &st) == nil && len(st.Instances) == 1 && st.Instances[0].Tag == "v2"
	})

	// deploy --wait: v1 again, blue-green, every step shown as it happens.
	out, errOut, code = s.run(t, "deploy", w, "v1", "--wait")
	if code != 0 {
		t.Fatalf("deploy --wait: exit %d\n%s%s", code, out, errOut)
	}
	// The watch ends in the outcome line; the drain's step (watched) is
	// journaled after it, in the background.
	for _, step := range []string{"locked", "pulled", "created", "started", "healthy", "switching", "switched"} {
		if !strings.Contains(out, "] "+step+" (") {
			t.Errorf("deploy --wait did not show step %s:\n%s", step, out)
		}
	}
	if !strings.Contains(out, ":v1: deployed in ") {
		t.Errorf("deploy --wait outcome line missing:\n%s", out)
	}
	t.Logf("tinyforge deploy %s v1 --wait:\n%s", w, out)
	s.waitServed("v1", 5*time.Second) // served when --wait returned
	out, errOut, code = s.run(t, "deploy", w, "no-such-tag", "--wait", "--timeout", "30s")
	if code != 3 || !strings.Contains(out, "failed") {
		t.Errorf("deploy --wait of a missing tag: exit %d, want 3\n%s%s", code, out, errOut)
	}

	out, _, code = s.run(t, "deploys", w)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || !strings.HasPrefix(lines[0], "FINISHED") || len(lines) < 4 || !strings.Contains(lines[1], ":v1") {
		t.Errorf("deploys: exit %d\n%s", code, out)
	}

	// logs -f: started now, it follows the serving container and, across
	// the rollback's deploy, the next one from its start.
	logs := s.startCLI(t, "logs", w, "-f", "--tail", "5")
	logs.waitErr(t, "==> ", 15*time.Second)
	before := logs.stderrText()

	out, errOut, code = s.run(t, "rollback", w, "--to", "v2")
	if code != 0 || !strings.Contains(out, "rollback of "+w+" queued: "+s.repo+":v2") {
		t.Fatalf("rollback --to v2: exit %d\n%s%s", code, out, errOut)
	}
	s.waitServed("v2", 60*time.Second)
	logs.waitErr(t, "==> ", 30*time.Second, before)
	logs.waitOut(t, "testapp: listening on", 2)
	t.Logf("tinyforge logs -f across the rollback: stderr %q", logs.stderrText())
	logs.stop()

	if _, errOut, code := s.run(t, "rollback", w, "--to", "sha256:"+strings.Repeat("0", 64)); code != 1 || !strings.Contains(errOut, "no successful deploy of digest") {
		t.Errorf("rollback to an unknown digest: exit %d %s", code, errOut)
	}
}

// run runs the tinyforge binary with the stack's URL and token in the
// environment.
func (s *stack) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := s.cliCmd(t, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("run tinyforge %v: %v", args, err)
	}
	return out.String(), errOut.String(), 0
}

func (s *stack) cliCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := sidecarBin()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TINYFORGE_URL="+s.sidecarURL, "TINYFORGE_API_TOKEN="+s.apiToken)
	return cmd
}

// cliProc is a tinyforge command left running (logs -f).
type cliProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	errs []string
	done chan struct{}
}

func (s *stack) startCLI(t *testing.T, args ...string) *cliProc {
	t.Helper()
	p := &cliProc{cmd: s.cliCmd(t, args...), done: make(chan struct{})}
	stdout, _ := p.cmd.StdoutPipe()
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	collect := func(r io.Reader, into *[]string) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			*into = append(*into, sc.Text())
			p.mu.Unlock()
		}
	}
	wg.Add(2)
	go collect(stdout, &p.out)
	go collect(stderr, &p.errs)
	go func() { wg.Wait(); _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

func (p *cliProc) stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *cliProc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.errs, "\n")
}

// waitErr waits for a stderr line with prefix that is not among skip.
func (p *cliProc) waitErr(t *testing.T, prefix string, within time.Duration, skip ...string) {
	t.Helper()
	eventually(t, within, "stderr line "+prefix, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, l := range p.errs {
			if strings.HasPrefix(l, prefix) && !strings.Contains(strings.Join(skip, "\n"), l) {
				return true
			}
		}
		return false
	})
}

// waitOut waits until n stdout lines contain s.
func (p *cliProc) waitOut(t *testing.T, s string, n int) {
	t.Helper()
	eventually(t, 30*time.Second, "stdout lines with "+s, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		c := 0
		for _, l := range p.out {
			if strings.Contains(l, s) {
				c++
			}
		}
		return c >= n
	})
}
