// Package testsvc starts the real services tests need (redis-server,
// docker-registry, caddy, the Docker Engine) on loopback, one private
// instance per test, and cleans them up. It is imported only by tests.
// Swarms are made only on private Docker engines it starts in network
// namespaces of their own (PrivateEngine), never on the shared engine.
//
// A missing service skips the test on a developer machine and fails it
// under CI=true: CI must never pass by skipping. Under -short (make unit)
// every test that needs a service is skipped before it is started, CI or
// not: -short asks for the tests that need nothing but Go.
package testsvc

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI, where missing services fail.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable stops the test because a service it needs is missing: a
// failure under CI, a skip elsewhere. It is the only place tests skip.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("required service unavailable under CI=true: %s", msg)
	}
	t.Skipf("service unavailable (fails under CI=true): %s", msg)
}

// SkipShort skips the test under -short: it needs service, a real
// process or the Docker Engine. Every service constructor calls it first.
func SkipShort(t testing.TB, service string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: skipped under -short", service)
	}
}

// LookBinary returns the path of a service binary, or stops the test
// (skipped under -short).
func LookBinary(t testing.TB, name string) string {
	t.Helper()
	SkipShort(t, name)
	path, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s not installed (apt-get install %s)", name, name)
	}
	return path
}

// RunID is a short random id unique to this test process, used to name
// every container, network, image and key a test creates, so leftovers of
// an interrupted run never collide with a new one.
var RunID = func() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}()

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitTCP waits until addr accepts connections or the timeout passes.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not accepting connections after %s: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StartProcess runs a service binary for the life of the test, with its
// output in the test log on failure, and kills it at cleanup.
func StartProcess(t testing.TB, dir string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	logPath := dir + "/" + "process.log"
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("log file for %s: %v", name, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The service dies with the test process even when that process
	// crashes (cleanups do not run then): a fuzz worker that panics would
	// otherwise leave its Redis holding the worker's pipes to the fuzzing
	// coordinator, which then waits for them forever.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil && len(out) > 0 {
				t.Logf("%s output:\n%s", name, tail(out, 4000))
			}
		}
	})
	return cmd
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
