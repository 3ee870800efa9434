package sidecar

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUsageNeverShowsSecrets: a bad flag prints the usage; defaults taken
// from the environment must not put a token or a Redis password there.
func TestUsageNeverShowsSecrets(t *testing.T) {
	env := envOf(map[string]string{
		"TINYFORGE_API_TOKEN":     "api-token-from-env",
		"TINYFORGE_WEBHOOK_TOKEN": "hook-token-from-env",
		"TINYFORGE_REDIS_URL":     "redis://:redis-pw-from-env@redis:6379/0",
	})
	var out bytes.Buffer
	c, err := Parse([]string{"--no-such-flag"}, env)
	if err == nil {
		t.Fatal("bad flag accepted")
	}
	Usage(&out) // what Main prints for -h
	usage := out.String()
	for _, secret := range []string{"api-token-from-env", "hook-token-from-env", "redis-pw-from-env"} {
		if strings.Contains(usage+err.Error(), secret) {
			t.Errorf("usage shows %q:\n%s", secret, usage)
		}
	}
	if !strings.Contains(usage, "redis://127.0.0.1:6379/0") || !strings.Contains(usage, "TINYFORGE_API_TOKEN_FILE") {
		t.Errorf("usage lost the static default or the _FILE twin:\n%s", usage)
	}
	// The values themselves still come through.
	c, err = Parse(nil, env)
	if err != nil || c.APIToken != "api-token-from-env" || c.WebhookToken != "hook-token-from-env" || !strings.Contains(c.RedisURL, "redis-pw-from-env") {
		t.Fatalf("Parse = %+v, %v", c, err)
	}
}

func TestSecretFilesAndPolicyFlags(t *testing.T) {
	apiFile := writeFile(t, "api", "api-from-file\n")
	hookFile := writeFile(t, "hook", "  hook-from-file  \n")
	keyFile := writeFile(t, "key", hex.EncodeToString(bytes.Repeat([]byte{1}, 32))+"\n")
	oldKeyFile := writeFile(t, "old", hex.EncodeToString(bytes.Repeat([]byte{2}, 32)))
	vols := t.TempDir()
	c, err := Parse([]string{"--allowed-images", "ghcr.io/acme, 127.0.0.1:5000", "--allowed-volume-paths", vols,
		"--max-cpu", "2", "--max-memory", "1g", "--default-cpu", "0.5", "--default-memory", "256m"},
		envOf(map[string]string{
			"TINYFORGE_API_TOKEN_FILE":       apiFile,
			"TINYFORGE_WEBHOOK_TOKEN_FILE":   hookFile,
			"TINYFORGE_SECRET_KEY_FILE":      keyFile,
			"TINYFORGE_SECRET_OLD_KEY_FILE":  oldKeyFile,
			"TINYFORGE_ALLOWED_VOLUME_PATHS": "/ignored/because/the/flag/wins",
		}))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIToken != "api-from-file" || c.WebhookToken != "hook-from-file" {
		t.Errorf("tokens = %q, %q", c.APIToken, c.WebhookToken)
	}
	if c.Images.String() != "ghcr.io/acme,127.0.0.1:5000" || len(c.VolumePaths.Roots()) != 1 {
		t.Errorf("policy = %v, %v", c.Images, c.VolumePaths.Roots())
	}
	if c.Limits.MaxNanoCPUs != 2e9 || c.Limits.MaxMemory != 1<<30 || c.Limits.DefaultNanoCPUs != 5e8 || c.Limits.DefaultMemory != 256<<20 {
		t.Errorf("limits = %+v", c.Limits)
	}
	if ids := c.Keys.KeyIDs(); len(ids) != 2 {
		t.Errorf("keys = %v, want current and old", ids)
	}
}

// TestBadSecurityConfig lists bad settings and the error each gets; none
// may quote a secret.
func TestBadSecurityConfig(t *testing.T) {
	tokenFile := writeFile(t, "tok", "file-token-value")
	empty := writeFile(t, "empty", "\n")
	twoLines := writeFile(t, "two", "a\nb\n")
	badKey := writeFile(t, "badkey", "not-a-key-secret-material")
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--api-token", "x"}, map[string]string{"TINYFORGE_API_TOKEN_FILE": tokenFile}, "--api-token and --api-token-file are both set"},
		{[]string{"--webhook-token-file", "/nonexistent/tok"}, nil, "--webhook-token-file: open /nonexistent/tok: no such file"},
		{[]string{"--api-token-file", empty}, nil, "--api-token-file " + empty + " is empty"},
		{[]string{"--api-token-file", twoLines}, nil, "more than one line"},
		{[]string{"--network", "host"}, nil, `--network "host": workload containers need a network of their own`},
		{[]string{"--network", "container:caddy"}, nil, `--network "container:caddy"`},
		{[]string{"--network", "none"}, nil, `--network "none"`},
		{[]string{"--allowed-images", "ghcr.io/acme:v1"}, nil, `--allowed-images: allowed image "ghcr.io/acme:v1": name a registry or repository`},
		{[]string{"--allowed-volume-paths", "relative/dir"}, nil, `--allowed-volume-paths: allowed volume path "relative/dir": not absolute`},
		{[]string{"--allowed-volume-paths", "/nonexistent/tinyforge"}, nil, "mounted at the same path"},
		{[]string{"--allowed-volume-paths", "/"}, nil, "allows everything"},
		{[]string{"--allowed-named-volumes", "shared,a/b"}, nil, `--allowed-named-volumes: "a/b" is not a Docker volume name`},
		{[]string{"--max-cpu", "lots"}, nil, `--max-cpu: cpu "lots": want a number of cores`},
		{[]string{"--max-memory", "1k"}, nil, `--max-memory: memory "1k": below Docker's minimum of 6m`},
		{[]string{"--max-memory", "512m", "--default-memory", "1g"}, nil, "--default-memory is above --max-memory"},
		{[]string{"--secret-key-file", badKey}, nil, "25 bytes: want 32 raw bytes"},
		{[]string{"--secret-old-key-file", badKey}, nil, "--secret-old-key-file is set without --secret-key-file"},
	}
	for _, c := range cases {
		_, err := Parse(c.args, envOf(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%v, %v) = %v\n want error containing %q", c.args, c.env, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "file-token-value") || strings.Contains(err.Error(), "secret-material") {
			t.Errorf("error quotes a secret: %v", err)
		}
		t.Logf("%v -> %v", c.args, err)
	}
}
