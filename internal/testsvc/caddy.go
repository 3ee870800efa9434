package testsvc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CaddyServer is one private Caddy started for a test.
type CaddyServer struct {
	// AdminURL is the admin API base, e.g. http://127.0.0.1:40123.
	AdminURL string
	// AdminListen is the admin block's listen address, as in the config.
	AdminListen string
	// HTTPAddr is a loopback port reserved for the HTTP server the code
	// under test creates (Caddy does not listen on it until then).
	HTTPAddr string
	// Dir is the temp directory holding the config, HOME and the log.
	Dir string
}

// Caddy starts `caddy run` with a config holding only the admin block on a
// free loopback port, its HOME and XDG dirs inside t.TempDir() so it never
// reads or writes the real user's data, and stops it at cleanup.
func Caddy(t testing.TB) *CaddyServer {
	t.Helper()
	bin := LookBinary(t, "caddy")
	migrateQueuedConnections(t)
	dir := t.TempDir()
	for _, d := range []string{"home", "data", "config"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatalf("caddy dirs: %v", err)
		}
	}
	admin := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	cfg, err := json.Marshal(map[string]any{
		"admin": map[string]any{"listen": admin},
		// Caddy's internal CA (TLS routes issued with it) must never install
		// its root into this machine's trust store: Caddy runs as root here.
		"apps": map[string]any{"pki": map[string]any{"certificate_authorities": map[string]any{
			"local": map[string]any{"install_trust": false},
		}}},
	})
	if err != nil {
		t.Fatalf("caddy config: %v", err)
	}
	cfgPath := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatalf("caddy config: %v", err)
	}
	// StartProcess inherits the test's environment; env(1) overrides the
	// few variables Caddy derives its storage and autosave paths from, then
	// execs caddy in place, so the process StartProcess kills is caddy.
	StartProcess(t, dir, "env",
		"HOME="+filepath.Join(dir, "home"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		bin, "run", "--config", cfgPath)

	s := &CaddyServer{
		AdminURL:    "http://" + admin,
		AdminListen: admin,
		HTTPAddr:    fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		Dir:         dir,
	}
	if err := WaitTCP(admin, 10*time.Second); err != nil {
		t.Fatalf("caddy admin: %v", err)
	}
	if err := waitHTTP(s.AdminURL+"/config/", 5*time.Second); err != nil {
		t.Fatalf("caddy admin: %v", err)
	}
	return s
}

// waitHTTP waits until url answers 200.
func waitHTTP(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s not answering after %s: %w", url, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tcpMigrateReq is the kernel switch (Linux >= 5.14) that hands connections
// queued on a closing SO_REUSEPORT listener to its successor instead of
// resetting them. Caddy 2.6 binds a new listener on every config change,
// so without it a route switch resets a few new connections.
const tcpMigrateReq = "/proc/sys/net/ipv4/tcp_migrate_req"

// migrateQueuedConnections turns tcp_migrate_req on, as the README tells
// operators running Caddy to. It is a host-wide, harmless setting and is
// left on: tests running concurrently depend on it.
func migrateQueuedConnections(t testing.TB) {
	t.Helper()
	cur, err := os.ReadFile(tcpMigrateReq)
	if err != nil {
		Unavailable(t, "kernel without %s (Linux >= 5.14 needed for zero-downtime Caddy reloads): %v", tcpMigrateReq, err)
	}
	if string(cur) == "1\n" {
		return
	}
	if err := os.WriteFile(tcpMigrateReq, []byte("1"), 0o644); err != nil {
		Unavailable(t, "cannot enable %s (run as root or set it on the host): %v", tcpMigrateReq, err)
	}
}
