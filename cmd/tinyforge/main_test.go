package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runMainEnv makes the test binary run main instead of the tests, so the
// tests below exercise the real command line, os.Exit included, without
// building the binary again.
const runMainEnv = "TINYFORGE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append([]string{"tinyforge"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tinyforge runs the command line at the repository root and returns
// stdout, stderr and the exit status.
func tinyforge(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "TINYFORGE_DOMAIN=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// TestLabelsSchemaReproducesLabelsMarkdown runs what LABELS.md says to
// run: `go run ./cmd/tinyforge labels schema > LABELS.md`.
func TestLabelsSchemaReproducesLabelsMarkdown(t *testing.T) {
	stdout, stderr, code := tinyforge(t, "labels", "schema")
	if code != 0 || stderr != "" {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	want, err := os.ReadFile("../../LABELS.md")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Error("`tinyforge labels schema` differs from LABELS.md: run `go run ./cmd/tinyforge labels schema > LABELS.md`")
	}
}

// TestLabelsCheckExitStatus: 0 valid, 1 invalid, 2 could not check.
func TestLabelsCheckExitStatus(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"labels", "check", "compose.example.yml"}, 0, "ok: 1 controller, 1 workload\n"},
		{[]string{"labels", "check", "cmd/tinyforge/labelscli/testdata/invalid.yml"}, 1, "FAIL: 6 errors"},
		{[]string{"labels", "check", "cmd/tinyforge/labelscli/testdata/nocontroller.yml"}, 1, "no controller"},
		{[]string{"labels", "check", "no/such/compose.yml"}, 2, "no such file"},
		{[]string{"labels"}, 2, ""},
		{[]string{"frobnicate"}, 2, ""},
	}
	for _, tt := range tests {
		stdout, stderr, code := tinyforge(t, tt.args...)
		if code != tt.code || !strings.Contains(stdout, tt.out) {
			t.Errorf("tinyforge %s: exit status %d (want %d), want %q in stdout:\n%s%s", strings.Join(tt.args, " "), code, tt.code, tt.out, stdout, stderr)
		}
	}
	if _, stderr, _ := tinyforge(t, "labels"); !strings.Contains(stderr, "usage: tinyforge labels") {
		t.Errorf("tinyforge labels: want its usage on stderr, got %q", stderr)
	}
	if stdout, _, _ := tinyforge(t, "help"); !strings.Contains(stdout, "  labels ") {
		t.Errorf("tinyforge help does not list labels:\n%s", stdout)
	}
}

func TestVersion(t *testing.T) {
	stdout, stderr, code := tinyforge(t, "version")
	if code != 0 || stderr != "" {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, "tinyforge ") || !strings.Contains(stdout, "(commit ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("version = %q, want tinyforge <version> (commit <sha>, go1.x)", stdout)
	}
}
