package client

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestHealthURL(t *testing.T) {
	cases := map[string]string{
		":9080":          "http://127.0.0.1:9080/healthz",
		"0.0.0.0:9080":   "http://127.0.0.1:9080/healthz",
		"[::]:9080":      "http://[::1]:9080/healthz",
		"10.1.2.3:80":    "http://10.1.2.3:80/healthz",
		"sidecar:9080":   "http://sidecar:9080/healthz",
		"127.0.0.1:1234": "http://127.0.0.1:1234/healthz",
	}
	for in, want := range cases {
		if got, err := healthURL(in); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := healthURL("9080"); err == nil {
		t.Error("healthURL accepted a port without colon")
	}
}

func TestHealthCommand(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"redis":"ok"}`))
	}))
	defer srv.Close()
	listen := strings.TrimPrefix(srv.URL, "http://")
	run := func(args []string, env map[string]string) (int, string) {
		var out, errOut bytes.Buffer
		code := Health(args, envOf(env), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := run(nil, map[string]string{"TINYFORGE_LISTEN": listen}); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("healthy sidecar: exit %d, %q", code, out)
	}
	status = http.StatusServiceUnavailable
	if code, out := run([]string{"--listen", listen}, nil); code != 1 || !strings.Contains(out, "503") {
		t.Errorf("unhealthy sidecar: exit %d, %q", code, out)
	}
	srv.Close()
	if code, out := run([]string{"--listen", listen, "--health-timeout", "1s"}, nil); code != 1 || !strings.Contains(out, "connection refused") {
		t.Errorf("no sidecar: exit %d, %q", code, out)
	}
	if code, _ := run([]string{"--listen", "nonsense"}, nil); code != 2 {
		t.Errorf("bad --listen: exit %d, want 2", code)
	}
	if code, out := run(nil, map[string]string{"TINYFORGE_HEALTH_TIMEOUT": "soon"}); code != 2 || !strings.Contains(out, "TINYFORGE_HEALTH_TIMEOUT") {
		t.Errorf("bad TINYFORGE_HEALTH_TIMEOUT: exit %d, %q; want 2 naming the variable", code, out)
	}
	if code, _ := run([]string{"--bogus"}, nil); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
}
