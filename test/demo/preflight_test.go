package demo

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// demoTools are the tools the demo checks for, with the Debian package
// it names for each (preflight in scripts/demo-lib.sh).
var demoTools = []struct{ tool, pkg string }{
	{"curl", "curl"}, {"docker", "docker.io"}, {"redis-server", "redis-server"},
	{"docker-registry", "docker-registry"}, {"caddy", "caddy"},
}

// TestDemoSaysWhatIsMissing runs the demo where tools are missing, the
// Docker Engine does not answer, ports are taken and a variable is wrong:
// it must start nothing and say each problem, with the package to install
// or the variable to change, and each thing it says must be so.
func TestDemoSaysWhatIsMissing(t *testing.T) {
	hidden := []string{"curl", "redis-server", "caddy"}
	path := pathWithout(t, hidden)
	var held []string // addresses the test holds, so the demo finds them in use
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		held = append(held, l.Addr().String())
	}
	_, redisPort, _ := net.SplitHostPort(held[0])
	const noEngine = "unix:///nonexistent/docker.sock"
	cmd := exec.Command("/bin/bash", filepath.Join(repoRoot(t), "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(), "PATH="+path, "DOCKER_HOST="+noEngine, "REDIS_PORT="+redisPort, "SIDECAR="+held[1],
		"TINYFORGE=/nonexistent/tinyforge", "WATCH=ten", "DEMO_NAME=demo-preflight", "REGISTRY_PORT=5000x", "CADDY_ADMIN=localhost")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d (%v), want 1", code, err)
	}
	if want := "==> checking the tools: curl, docker, redis-server, docker-registry, caddy, go\n"; stdout.String() != want {
		t.Errorf("stdout %q, want only %q: nothing may start", stdout.String(), want)
	}

	var missing, pkgs []string
	for _, tl := range demoTools {
		if _, err := exec.LookPath(tl.tool); err == nil && !slices.Contains(hidden, tl.tool) {
			continue
		}
		missing = append(missing, fmt.Sprintf("%s (Debian package %s)", tl.tool, tl.pkg))
		pkgs = append(pkgs, tl.pkg)
	}
	want := []string{
		"missing: " + strings.Join(missing, ", "),
		"install them with: sudo apt-get install " + strings.Join(pkgs, " ") + "   (or run scripts/install-deps.sh as root)",
		"no tinyforge binary at /nonexistent/tinyforge: run make demo (it builds it) or set TINYFORGE",
	}
	if _, err := exec.LookPath("docker"); err == nil {
		out, err := exec.Command("env", "DOCKER_HOST="+noEngine, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err == nil {
			t.Fatalf("docker version answers with DOCKER_HOST=%s: %s", noEngine, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		want = append(want, "the Docker Engine does not answer (docker version: "+lines[len(lines)-1]+"): start it, or point DOCKER_HOST at it")
	}
	next, _ := strconv.Atoi(redisPort)
	_, sidecarPort, _ := net.SplitHostPort(held[1])
	next2, _ := strconv.Atoi(sidecarPort)
	want = append(want,
		fmt.Sprintf("%s (REDIS_PORT) is in use: stop what listens there or choose another address, e.g. REDIS_PORT=%d make demo", held[0], next+1),
		"REGISTRY_PORT=5000x: want a port number",
		"CADDY_ADMIN=localhost: want host:port",
		fmt.Sprintf("%s (SIDECAR) is in use: stop what listens there or choose another address, e.g. SIDECAR=127.0.0.1:%d make demo", held[1], next2+1),
		"WATCH=ten: want a whole number of seconds")
	for i := range want {
		want[i] = "demo: " + want[i]
	}
	if got := strings.Split(strings.TrimSpace(stderr.String()), "\n"); !slices.Equal(got, want) {
		t.Errorf("stderr:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The packages it names are the ones that hold the tools here.
	for _, tl := range demoTools {
		bin, err := exec.LookPath(tl.tool)
		if err != nil {
			continue
		}
		out, err := exec.Command("dpkg", "-S", bin).Output()
		if err != nil {
			t.Logf("%s: not from a Debian package here (%s), its package name is not checked", tl.tool, bin)
			continue
		}
		if pkg, _, _ := strings.Cut(string(out), ":"); pkg != tl.pkg {
			t.Errorf("%s comes from the Debian package %s, the demo says %s", bin, pkg, tl.pkg)
		}
	}
}

// pathWithout is a PATH where every command of the real one is found
// except hidden: one directory of symbolic links.
func pathWithout(t *testing.T, hidden []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			name := e.Name()
			if slices.Contains(hidden, name) {
				continue
			}
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				continue // the first in PATH wins, as in a shell
			}
			_ = os.Symlink(filepath.Join(p, name), filepath.Join(dir, name))
		}
	}
	for _, h := range hidden {
		if _, err := exec.LookPath(filepath.Join(dir, h)); err == nil {
			t.Fatalf("%s is still found in %s", h, dir)
		}
	}
	return dir
}
