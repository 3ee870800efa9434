package npm_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// nginxServer is a private nginx from Debian that the fake NPM renders
// proxy hosts into, the way NPM does: one file per host, nginx -t, the
// file set aside as .err when the test fails, then a reload.
type nginxServer struct {
	bin, dir, conf string
	Addr           string // 127.0.0.1:port of the HTTP listener
}

func startNginx(t *testing.T) *nginxServer {
	t.Helper()
	bin := testsvc.LookBinary(t, "nginx")
	dir := t.TempDir()
	for _, d := range []string{"hosts", "tmp"} {
		must(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	n := &nginxServer{bin: bin, dir: dir, conf: filepath.Join(dir, "nginx.conf"), Addr: fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t))}
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  server { listen %[2]s default_server; return 404; }
  include %[1]s/hosts/*.conf;
}
`, dir, n.Addr)
	must(t, os.WriteFile(n.conf, []byte(conf), 0o644))
	testsvc.StartProcess(t, dir, bin, "-c", n.conf, "-p", dir)
	must(t, testsvc.WaitTCP(n.Addr, 10*time.Second))
	return n
}

func (n *nginxServer) hostFile(id int) string {
	return filepath.Join(n.dir, "hosts", fmt.Sprintf("%d.conf", id))
}

// configure renders host h (NPM's proxy_host template, reduced to what a
// plain HTTP host uses), tests the whole config and reloads.
func (n *nginxServer) configure(h map[string]any) error {
	id := h["id"].(int)
	var names []string
	for _, d := range h["domain_names"].([]any) {
		names = append(names, d.(string))
	}
	body := fmt.Sprintf(`server {
  listen %s;
  server_name %s;
  location / {
    proxy_pass %s://%s:%v;
    proxy_set_header Host $host;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
  }
}
`, n.Addr, strings.Join(names, " "), h["forward_scheme"], h["forward_host"], h["forward_port"])
	path := n.hostFile(id)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		return err
	}
	if out, err := n.run("-t", "-q"); err != nil {
		_ = os.Rename(path, path+".err")
		_, _ = n.run("-s", "reload")
		return fmt.Errorf("%s", strings.TrimSpace(out))
	}
	_, err := n.run("-s", "reload")
	return err
}

func (n *nginxServer) remove(id int) {
	_ = os.Remove(n.hostFile(id))
	_, _ = n.run("-s", "reload")
}

func (n *nginxServer) run(args ...string) (string, error) {
	out, err := exec.Command(n.bin, append(args, "-c", n.conf, "-p", n.dir)...).CombinedOutput()
	return string(out), err
}

// waitReloaded waits until nginx runs one generation of workers: after a
// reload, workers with the old config keep accepting connections until
// they have shut down.
func (n *nginxServer) waitReloaded(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pid, _ := os.ReadFile(filepath.Join(n.dir, "nginx.pid"))
		master := strings.TrimSpace(string(pid))
		workers := 0
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, st := range stats {
			b, err := os.ReadFile(st)
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
			if i := strings.LastIndexByte(string(b), ')'); i > 0 {
				if f := strings.Fields(string(b[i+1:])); len(f) > 1 && f[1] == master {
					workers++
				}
			}
		}
		if master != "" && workers == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx still runs %d workers after a reload", workers)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
