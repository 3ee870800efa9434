package admin

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
	"github.com/tinyforge/tinyforge/secrets"
)

const (
	cliToken  = "cli-registry-token-under-test"
	cliSecret = "cli-secret-env-under-test"
	cfgToken  = "config-json-token-under-test"
)

type harness struct {
	t    *testing.T
	env  map[string]string
	all  strings.Builder // every output, to check no secret is printed
	dir  string
	url  string
	keyA string
	keyB string
}

func newHarness(t *testing.T) *harness {
	redis := testsvc.Redis(t)
	h := &harness{t: t, dir: t.TempDir(), url: redis.URL}
	h.keyA = h.file("key-a", hex.EncodeToString(bytes.Repeat([]byte{0xa}, 32))+"\n")
	h.keyB = h.file("key-b", hex.EncodeToString(bytes.Repeat([]byte{0xb}, 32))+"\n")
	h.env = map[string]string{
		"TINYFORGE_REDIS_URL":       redis.URL,
		"TINYFORGE_REDIS_PREFIX":    "tf-admin:",
		"TINYFORGE_SECRET_KEY_FILE": h.keyA,
	}
	return h
}

func (h *harness) file(name, content string) string {
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// run executes one command in-process, as main would.
func (h *harness) run(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Main(args[0], args[1:], IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return h.env[k] }})
	h.all.WriteString(out.String() + errOut.String())
	return code, out.String(), errOut.String()
}

func (h *harness) ok(stdin string, args ...string) string {
	h.t.Helper()
	code, out, errOut := h.run(stdin, args...)
	if code != 0 {
		h.t.Fatalf("%v: exit %d: %s%s", args, code, out, errOut)
	}
	return out
}

func (h *harness) vault(keys ...string) *secrets.Vault {
	h.t.Helper()
	st, err := redisstore.Open(context.Background(), h.url, "tf-admin:")
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = st.Close() })
	var old string
	if len(keys) > 1 {
		old = keys[1]
	}
	k, err := secrets.LoadKeyring(keys[0], old)
	if err != nil {
		h.t.Fatal(err)
	}
	return &secrets.Vault{Store: st, Keys: k}
}

func TestRegistryCommands(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	out := h.ok(cliToken+"\n", "registry", "add", "ghcr", "--url", "ghcr.io", "--username", "bot", "--token", "-")
	if out != "registry ghcr stored for ghcr.io (user bot)\n" {
		t.Errorf("add output %q", out)
	}
	h.ok("", "registry", "add", "--url", "https://registry.digitalocean.com", "do", "--token-file", h.file("tok", cliToken+"\n"))
	cfg := h.file("config.json", `{"auths":{"https://index.docker.io/v1/":{"auth":"`+
		"aHViLXVzZXI6Y29uZmlnLWpzb24tdG9rZW4tdW5kZXItdGVzdA=="+`"}}}`) // hub-user:config-json-token-under-test
	h.ok("", "registry", "add", "hub", "--url", "docker.io", "--docker-config", cfg)
	h.ok(cliToken, "registry", "add", "teamreg", "--url", "ghcr.io", "--username", "tbot", "--token", "-", "--scope", "team-a")

	list := h.ok("", "registry", "list")
	for _, want := range []string{"NAME URL USERNAME SCOPE", "ghcr ghcr.io bot -", "teamreg ghcr.io tbot team-a", "do https://registry.digitalocean.com", "(token)", "hub-user"} {
		if !strings.Contains(strings.Join(strings.Fields(list), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	v := h.vault(h.keyA)
	if c, err := v.Credential(ctx, "ghcr", "ghcr.io"); err != nil || c.Password != cliToken || c.Username != "bot" {
		t.Errorf("ghcr credential: %v", err)
	}
	if c, err := v.Credential(ctx, "do", "registry.digitalocean.com"); err != nil || c.Username != cliToken {
		t.Errorf("do credential (token as username): %v", err)
	}
	if c, err := v.Credential(ctx, "hub", "docker.io"); err != nil || c.Username != "hub-user" || c.Password != cfgToken {
		t.Errorf("hub credential from config.json: %v", err)
	}
	h.ok("", "registry", "remove", "do")

	bad := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"registry", "add", "ghcr", "--url", "ghcr.io"}, 2, "a token is required"},
		{[]string{"registry", "add", "ghcr", "--token", "t"}, 2, "--url is required"},
		{[]string{"registry", "add", "--url", "ghcr.io", "--token", "t"}, 2, "got 0 arguments"},
		{[]string{"registry", "add", "Bad_Name", "--url", "ghcr.io", "--token", "t"}, 1, `registry name "Bad_Name"`},
		{[]string{"registry", "add", "x", "--url", "ftp://x", "--token", "t"}, 1, `registry URL "ftp://x"`},
		{[]string{"registry", "add", "x", "--url", "quay.io", "--docker-config", cfg}, 1, "no credentials for quay.io"},
		{[]string{"registry", "add", "x", "--url", "ghcr.io", "--docker-config", cfg, "--token", "t"}, 2, "--docker-config replaces --token"},
		{[]string{"registry", "add", "x", "--url", "ghcr.io", "--token", "t", "--token-file", cfg}, 2, "not both"},
		{[]string{"registry", "add", "x", "--url", "ghcr.io", "--token-file", "/nonexistent"}, 1, "no such file"},
		{[]string{"registry", "remove", "never"}, 1, "registry never: not stored"},
		{[]string{"registry", "frobnicate"}, 2, "usage: tinyforge registry <add|list|remove>"},
		{[]string{"registry", "list", "--redis-url", "redis://:hunter2@127.0.0.1:1/0"}, 1, "xxxxx"},
	}
	for _, b := range bad {
		code, _, errOut := h.run("", b.args...)
		if code != b.code || !strings.Contains(errOut, b.want) {
			t.Errorf("%v: exit %d %q; want exit %d with %q", b.args, code, errOut, b.code, b.want)
		}
		t.Logf("%v -> exit %d: %s", b.args, code, strings.TrimSpace(errOut))
	}
	// Without a key nothing can be sealed.
	delete(h.env, "TINYFORGE_SECRET_KEY_FILE")
	if code, _, errOut := h.run("", "registry", "add", "x", "--url", "ghcr.io", "--token", "t"); code != 1 || !strings.Contains(errOut, "no secret key configured") {
		t.Errorf("add without key: %d %q", code, errOut)
	}
	if s := h.all.String(); strings.Contains(s, cliToken) || strings.Contains(s, cfgToken) || strings.Contains(s, "hunter2") {
		t.Errorf("a secret was printed:\n%s", s)
	}
}

func TestEnvAndRotateCommands(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.ok("", "env", "set", "web", "LOG_LEVEL", "debug")
	h.ok(cliSecret, "env", "set", "web", "DB_PASSWORD", "-", "--secret")
	h.ok("", "env", "set", "--secret", "web", "API_KEY", "--value-file", h.file("v", "from-file\n"))
	h.ok("", "env", "set", "web", "DASHED", "--", "-starts-with-dash")
	h.ok("", "env", "set", "web", "TEAM_PLAIN", "x", "--scope", "team-a")
	h.ok(cliSecret, "env", "set", "web", "TEAM_SECRET", "-", "--secret", "--scope", "team-a")
	if out := h.ok("", "env", "list", "web"); out != "API_KEY=(secret)\nDASHED=-starts-with-dash\nDB_PASSWORD=(secret)\nLOG_LEVEL=debug\n"+
		"TEAM_PLAIN=x  (scope team-a)\nTEAM_SECRET=(secret)  (scope team-a)\n" {
		t.Errorf("env list:\n%s", out)
	}
	h.ok("", "env", "unset", "web", "TEAM_PLAIN")
	h.ok("", "env", "unset", "web", "TEAM_SECRET")
	env, skipped, err := h.vault(h.keyA).EnvOverrides(ctx, "web", "")
	if err != nil || env["DB_PASSWORD"] != cliSecret || env["API_KEY"] != "from-file" || len(skipped) != 0 {
		t.Fatalf("overrides = %v %v %v", env, skipped, err)
	}
	h.ok("", "env", "unset", "web", "DASHED")

	// Rotation: B becomes current, A old; afterwards B alone opens everything.
	h.ok(cliToken, "registry", "add", "ghcr", "--url", "ghcr.io", "--token", "-")
	h.env["TINYFORGE_SECRET_KEY_FILE"], h.env["TINYFORGE_SECRET_OLD_KEY_FILE"] = h.keyB, h.keyA
	if out := h.ok("", "secrets", "rotate"); !strings.HasPrefix(out, "re-sealed 3, already current 1, failed 0") {
		t.Errorf("rotate: %q", out)
	}
	onlyB := h.vault(h.keyB)
	if env, skipped, _ := onlyB.EnvOverrides(ctx, "web", ""); env["DB_PASSWORD"] != cliSecret || len(skipped) != 0 {
		t.Errorf("after rotation with key B alone: %v skipped %v", env, skipped)
	}
	// Rotating without the old key: what B cannot open is reported, by name.
	h.env["TINYFORGE_SECRET_KEY_FILE"], h.env["TINYFORGE_SECRET_OLD_KEY_FILE"] = h.keyA, ""
	code, out, errOut := h.run("", "secrets", "rotate")
	if code != 1 || !strings.Contains(out, "failed 3") || !strings.Contains(errOut, "env web DB_PASSWORD: cannot decrypt") || !strings.Contains(errOut, "registry ghcr: cannot decrypt") {
		t.Errorf("rotate with the wrong key: exit %d\n%s%s", code, out, errOut)
	}

	bad := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"env", "set", "web", "KEY"}, 2, "got 2 arguments"},
		{[]string{"env", "set", "Web", "KEY", "v"}, 1, `workload "Web"`},
		{[]string{"env", "set", "web", "A=B", "v"}, 1, `env key "A=B"`},
		{[]string{"env", "set", "web", "K", "v", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"env", "unset", "web", "NEVER"}, 1, "env NEVER of web: not stored"},
		{[]string{"secrets", "rotate", "extra"}, 2, "got 1 arguments"},
	}
	for _, b := range bad {
		code, _, errOut := h.run("", b.args...)
		if code != b.code || !strings.Contains(errOut, b.want) {
			t.Errorf("%v: exit %d %q; want exit %d with %q", b.args, code, errOut, b.code, b.want)
		}
		t.Logf("%v -> exit %d: %s", b.args, code, strings.TrimSpace(errOut))
	}
	h.env["TINYFORGE_SECRET_KEY_FILE"] = ""
	if code, _, errOut := h.run("x", "env", "set", "web", "S", "-", "--secret"); code != 1 || !strings.Contains(errOut, "no secret key configured") {
		t.Errorf("secret without key: %d %q", code, errOut)
	}
	h.env["TINYFORGE_SECRET_KEY_FILE"] = h.file("short", "short")
	if code, _, errOut := h.run("", "env", "list", "web"); code != 1 || !strings.Contains(errOut, "5 bytes: want 32 raw bytes") {
		t.Errorf("bad key file: %d %q", code, errOut)
	}
	if s := h.all.String(); strings.Contains(s, cliSecret) || strings.Contains(s, "from-file") || strings.Contains(s, cliToken) {
		t.Errorf("a secret was printed:\n%s", s)
	}
}
