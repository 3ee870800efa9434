package sidecar

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/intake"
)

func TestHookConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ghFile := write("gh", "from-file\n")
	emptyFile := write("empty", "\n")

	c, err := Parse([]string{"--github-secret-file", ghFile, "--quay-token", "q"}, envPairs(
		"TINYFORGE_WEBHOOK_TOKEN", "shared", "TINYFORGE_HARBOR_AUTH", "h", "TINYFORGE_INSECURE_REGISTRIES", "reg.lan:5000, other:80",
		"TINYFORGE_REGISTRY_TOKEN_HOSTS", "gitlab.example.com, sso.lan:8443"))
	if err != nil {
		t.Fatal(err)
	}
	for source, want := range map[string]string{
		intake.SourceGitHub: "from-file", intake.SourceQuay: "q", intake.SourceHarbor: "h",
		intake.SourceDistribution: "shared", intake.SourceGitea: "shared", intake.SourceDockerHub: "shared",
	} {
		if got := intakeConfig(c).Secret(source); got != want {
			t.Errorf("secret of %s = %q, want %q", source, got, want)
		}
	}
	if c.Hooks.DedupTTL != 24*time.Hour || strings.Join(c.Hooks.InsecureRegistries, "|") != "reg.lan:5000|other:80" ||
		strings.Join(c.Hooks.TokenHosts, "|") != "gitlab.example.com|sso.lan:8443" {
		t.Errorf("hooks config %+v", c.Hooks)
	}

	apiFile := write("api", "api-from-env-file")
	c, err = Parse(nil, envPairs("TINYFORGE_API_TOKEN_FILE", apiFile))
	if err != nil || c.APIToken != "api-from-env-file" {
		t.Errorf("api token from TINYFORGE_API_TOKEN_FILE: %q, %v", c.APIToken, err)
	}
	if intakeConfig(c).Secret(intake.SourceGitHub) != "" {
		t.Error("no secret at all must leave the source disabled")
	}

	for _, tc := range []struct {
		args []string
		env  func(string) string
		want string
	}{
		{[]string{"--github-secret", "a", "--github-secret-file", ghFile}, envPairs(), "--github-secret and --github-secret-file are both set"},
		{[]string{"--webhook-token-file", emptyFile}, envPairs(), "is empty"},
		{[]string{"--gitea-secret-file", filepath.Join(dir, "missing")}, envPairs(), "--gitea-secret-file: open"},
		{nil, envPairs("TINYFORGE_DEDUP_TTL", "0s"), "--dedup-ttl must be positive"},
	} {
		_, err := Parse(tc.args, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%v): %v, want %q", tc.args, err, tc.want)
		}
	}
}
