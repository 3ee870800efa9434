package labelscli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/labelsig"
)

// TestSignProducesWhatTheSidecarVerifies: the signature printed for a
// compose controller (after ${VAR} substitution) verifies under the key
// file the sidecar reads, with the key's scope; --label signs a set.
func TestSignProducesWhatTheSidecarVerifies(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "controller.keys")
	keyLine := "team-a:" + strings.Repeat("5a", 32)
	if err := os.WriteFile(keyFile, []byte("# keys\n"+keyLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	compose := filepath.Join(dir, "compose.yml")
	if err := os.WriteFile(compose, []byte(`services:
  app:
    image: busybox
    labels:
      tinyforge.enable: "true"
      tinyforge.workloads.web.image: ${REPO}
      tinyforge.workloads.web.port: "8080"
      com.example.other: "not signed"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	c := &Command{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string {
		return map[string]string{"REPO": "reg.example/web"}[k]
	}}
	if code := c.Run(context.Background(), []string{"sign", "--key-file", keyFile, "--scope", "team-a", compose}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	_, sig, ok := strings.Cut(strings.TrimSpace(out.String()), labels.Signature+"=")
	if !ok {
		t.Fatalf("output %q names no signature", out.String())
	}
	keys, err := labelsig.LoadControllerKeys(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	running := map[string]string{ // as compose starts the container
		labels.Enable: "true", "tinyforge.workloads.web.image": "reg.example/web", "tinyforge.workloads.web.port": "8080",
		"com.example.other": "changed: not covered", labels.Signature: sig,
	}
	if scope, err := keys.Verify(running); err != nil || scope != "team-a" {
		t.Fatalf("sidecar verifies the printed signature: %q, %v", scope, err)
	}

	out.Reset()
	args := []string{"sign", "--key-file", keyFile, "--scope", "team-a"}
	for k, v := range running {
		if k != labels.Signature {
			args = append(args, "--label", k+"="+v)
		}
	}
	if code := c.Run(context.Background(), args); code != ExitOK || strings.TrimSpace(out.String()) != sig {
		t.Fatalf("--label form: exit %d, %q, want %q (%s)", code, out.String(), sig, errOut.String())
	}
	if code := c.Run(context.Background(), []string{"sign", "--key-file", keyFile, compose}); code != ExitError {
		t.Fatalf("no unscoped key in the file: exit %d, want %d", code, ExitError)
	}
}
