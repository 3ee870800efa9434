package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

func do(t *testing.T, h http.Handler, method, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code, rec.Body.String()
}

func TestHandlers(t *testing.T) {
	a := newApp("v1", true)
	steps := []struct {
		method, target string
		code           int
		body           string
	}{
		{"GET", "/", 200, "v1"},
		{"GET", "/health", 200, "ok"},
		{"GET", "/slow?ms=10", 200, "v1"},
		{"GET", "/slow?ms=x", 400, ""},
		{"GET", "/nope", 404, ""},
		{"POST", "/", 405, ""},
		{"POST", "/health/fail", 200, ""},
		{"GET", "/health", 500, "unhealthy"},
		{"GET", "/", 200, "v1"},
	}
	for _, s := range steps {
		code, body := do(t, a, s.method, s.target)
		if code != s.code || (s.body != "" && body != s.body) {
			t.Errorf("%s %s = %d %q, want %d %q", s.method, s.target, code, body, s.code, s.body)
		}
	}
	if code, _ := do(t, newApp("v2", false), "GET", "/health"); code != 500 {
		t.Errorf("HEALTH=fail: /health = %d, want 500", code)
	}
}

func TestServeFinishesInFlightRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, newApp("v1", true)) }()
	base := "http://" + ln.Addr().String()

	slow := make(chan string, 1)
	go func() { slow <- get(base + "/slow?ms=500") }()
	time.Sleep(150 * time.Millisecond)
	stop()
	if got := <-slow; got != "v1" {
		t.Errorf("in-flight request = %q, want v1", got)
	}
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Error("server still accepting after shutdown")
	}
}

func TestProbe(t *testing.T) {
	code := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
	defer srv.Close()
	if got := runProbe(srv.URL, "0"); got != 0 {
		t.Errorf("probe of 200 = %d, want 0", got)
	}
	code = 500
	if got := runProbe(srv.URL, "0"); got != 1 {
		t.Errorf("probe of 500 = %d, want 1", got)
	}
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	code = 204
	if got := runProbe("/health", strconv.Itoa(port)); got != 0 {
		t.Errorf("probe of a path = %d, want 0", got)
	}
}

// TestBinarySIGTERM runs the static binary the images are built from and
// checks that SIGTERM lets a request in flight finish before the exit.
func TestBinarySIGTERM(t *testing.T) {
	bin := testsvc.BuildTestApp(t)
	port := testsvc.FreePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "APP_VERSION=bin", "HEALTH=fail")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := testsvc.WaitTCP(addr, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("HEALTH=fail binary: /health = %s, want 500", resp.Status)
	}

	slow := make(chan string, 1)
	go func() { slow <- get("http://" + addr + "/slow?ms=700") }()
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := <-slow; got != "bin" {
		t.Errorf("in-flight request across SIGTERM = %q, want bin", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, out.String())
	}
}

func get(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestReachAndGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, r.Host+r.URL.Path)
	}))
	defer srv.Close()
	var out strings.Builder
	if code := runReach(&out, srv.Listener.Addr().String()); code != 0 || !strings.Contains(out.String(), "connected") {
		t.Errorf("reach of a listener = %d %q", code, out.String())
	}
	out.Reset()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if code := runReach(&out, closed); code != 1 || !strings.Contains(out.String(), "refused") {
		t.Errorf("reach of a closed port = %d %q", code, out.String())
	}
	out.Reset()
	if code := runReach(&out, "no-such-host.invalid:80"); code != 1 || !strings.Contains(out.String(), "resolve no-such-host.invalid") {
		t.Errorf("reach of an unknown name = %d %q", code, out.String())
	}
	out.Reset()
	if code := runGet(&out, "http://hooks.example.test/v1/x", srv.Listener.Addr().String()); code != 0 || out.String() != "status 418 hooks.example.test/v1/x\n" {
		t.Errorf("get via = %d %q", code, out.String())
	}
}

func TestRelease(t *testing.T) {
	env := map[string]string{"APP_VERSION": "v7", "DB": "db:5432", "RELEASE_EXIT": "3"}
	var out, errOut strings.Builder
	code := runRelease(&out, &errOut, func(k string) string { return env[k] }, "DB, PHASE")
	if code != 3 || out.String() != "release of v7\nDB=db:5432\nPHASE=\n" || errOut.String() != "release failed: exit 3\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	env["RELEASE_EXIT"], env["RELEASE_SLEEP"] = "", "50ms"
	out.Reset()
	start := time.Now()
	if code := runRelease(&out, &errOut, func(k string) string { return env[k] }, ""); code != 0 || time.Since(start) < 50*time.Millisecond ||
		!strings.HasSuffix(out.String(), "release done\n") {
		t.Fatalf("exit %d after %v, stdout %q", code, time.Since(start), out.String())
	}
}
