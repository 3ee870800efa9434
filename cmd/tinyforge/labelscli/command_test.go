package labelscli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs `tinyforge labels` in-process with args and stdin, with no
// TINYFORGE_* environment, and returns stdout, stderr and the exit status.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &Command{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errOut,
		Getenv: func(string) string { return "" },
	}
	code = c.Run(context.Background(), args)
	return out.String(), errOut.String(), code
}

// secret is the value of every env label in testdata: it must never be printed.
const secret = "s3cr3t"

// TestCheckComposeGolden checks each compose file of testdata and compares
// the human-readable report with testdata/golden/<name>.txt.
// UPDATE_GOLDEN=1 rewrites the golden files.
func TestCheckComposeGolden(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"valid", ExitOK},        // two workloads, volumes, faces, settings, env
		{"listform", ExitOK},     // - "k=v" labels, anchors and merge keys
		{"invalid", ExitInvalid}, // bad values, typo, missing scope, twice-set label, $VAR
		{"conflict", ExitInvalid},
		{"nocontroller", ExitInvalid},
		{"noservices", ExitInvalid},
		{"malformed", ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, "", "check", "testdata/"+tt.name+".yml")
			if code != tt.want {
				t.Errorf("exit status %d, want %d\n%s%s", code, tt.want, stdout, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			if strings.Contains(stdout, secret) {
				t.Errorf("an env value is printed:\n%s", stdout)
			}
			golden(t, filepath.Join("testdata", "golden", tt.name+".txt"), stdout)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 writes it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (UPDATE_GOLDEN=1 rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestCheckJSON decodes the JSON report of the valid file.
func TestCheckJSON(t *testing.T) {
	stdout, stderr, code := run(t, "", "check", "--json", "testdata/valid.yml")
	if code != ExitOK {
		t.Fatalf("exit status %d: %s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, secret) {
		t.Errorf("an env value is printed:\n%s", stdout)
	}
	var r Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if len(r.Controllers) != 1 || len(r.Controllers[0].Workloads) != 2 {
		t.Fatalf("want one controller with two workloads, got %+v", r.Controllers)
	}
	c := r.Controllers[0]
	if c.Source != "testdata/valid.yml, service controller" || c.Settings.Domain != "example.org" {
		t.Errorf("controller = %+v", c)
	}
	web := c.Workloads[0]
	if web.Name != "web" || web.Port != 8080 || web.Image != "registry.example.org/shop/web" {
		t.Errorf("web = %+v", web)
	}
	if got := strings.Join(web.EnvKeys, ","); got != "DATABASE_PASSWORD,LOG_LEVEL" {
		t.Errorf("env keys = %s", got)
	}
	if got := strings.Join(web.Command, "|"); got != "serve|--motd|hello, world" {
		t.Errorf("command = %q", web.Command)
	}
	var public FaceView
	for _, f := range web.Faces {
		if f.Name == "public" {
			public = f
		}
	}
	if public.URL != "https://www.example.org/" || public.Port != 8080 {
		t.Errorf("public face = %+v", public)
	}
	worker := c.Workloads[1]
	if worker.Entrypoint == nil || len(worker.Entrypoint) != 0 || worker.Command != nil || worker.Instances != 2 {
		t.Errorf("worker = %+v: want entrypoint [] (clears), no command, 2 instances", worker)
	}

	// Errors are in the JSON too, with the label key and the line.
	stdout, _, code = run(t, "", "check", "--json", "testdata/invalid.yml")
	if code != ExitInvalid {
		t.Fatalf("invalid.yml: exit status %d", code)
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	var port *Problem
	for i, p := range r.Controllers[0].Errors {
		if p.Key == "tinyforge.workloads.web.port" {
			port = &r.Controllers[0].Errors[i]
		}
	}
	if port == nil || port.Line != 9 || port.Value != "80a" || port.Workload != "web" {
		t.Errorf("port error = %+v, want line 9, value 80a, workload web", port)
	}
}

// TestCheckStdinAndFlagsAfterSources reads a compose file from stdin and
// accepts flags after the sources.
func TestCheckStdinAndFlagsAfterSources(t *testing.T) {
	data, err := os.ReadFile("testdata/valid.yml")
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, string(data), "check", "-", "--domain", "unused.example")
	if code != ExitOK {
		t.Fatalf("exit status %d: %s%s", code, stdout, stderr)
	}
	if !strings.HasPrefix(stdout, "stdin, service controller: 2 valid workloads\n") {
		t.Errorf("stdout:\n%s", stdout)
	}

	// --domain is used by faces without a domain of a controller without settings.domain.
	stdout, _, code = run(t, "", "check", "testdata/listform.yml", "--domain=apps.example.net")
	if code != ExitOK || !strings.Contains(stdout, "http://docs.apps.example.net/ -> port 80") {
		t.Errorf("exit status %d, want the face on --domain:\n%s", code, stdout)
	}
}

// TestCheckDomainFromEnvironment reads the sidecar's TINYFORGE_DOMAIN.
func TestCheckDomainFromEnvironment(t *testing.T) {
	var out bytes.Buffer
	c := &Command{Stdout: &out, Stderr: &out, Getenv: func(k string) string {
		if k == "TINYFORGE_DOMAIN" {
			return "env.example.com"
		}
		return ""
	}}
	if code := c.Run(context.Background(), []string{"check", "testdata/listform.yml"}); code != ExitOK {
		t.Fatalf("exit status %d: %s", code, &out)
	}
	if !strings.Contains(out.String(), "http://docs.env.example.com/") {
		t.Errorf("face not on TINYFORGE_DOMAIN:\n%s", &out)
	}
}

// TestCheckDefaultComposeFile checks the compose file of the current
// directory when no source is named, as docker compose finds it.
func TestCheckDefaultComposeFile(t *testing.T) {
	data, err := os.ReadFile("testdata/listform.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	_, stderr, code := run(t, "", "check")
	if code != ExitError || !strings.Contains(stderr, "no compose file here") {
		t.Errorf("empty directory: exit status %d, stderr %q", code, stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "", "check")
	if code != ExitOK || !strings.HasPrefix(stdout, "compose.yaml, service controller:") {
		t.Errorf("exit status %d\n%s%s", code, stdout, stderr)
	}
}

// TestCheckUnreadable: a missing file or a directory cannot be checked
// (exit 2), and the other sources still are.
func TestCheckUnreadable(t *testing.T) {
	stdout, _, code := run(t, "", "check", "testdata/missing.yml", "testdata", "testdata/valid.yml")
	if code != ExitError {
		t.Errorf("exit status %d, want %d", code, ExitError)
	}
	for _, want := range []string{
		"error: read compose file: stat testdata/missing.yml: no such file or directory\n",
		"error: testdata is a directory: name the compose file in it\n",
		"testdata/valid.yml, service controller: 2 valid workloads\n",
		"FAIL: could not check everything: 2 errors; 1 controller, 2 valid workloads\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
}

// TestCheckConflictAcrossFiles: every source of one run is one set of
// controllers, as on one host.
func TestCheckConflictAcrossFiles(t *testing.T) {
	stdout, _, code := run(t, "", "check", "testdata/valid.yml", "testdata/valid.yml")
	if code != ExitOK || !strings.Contains(stdout, "warning: workload web is declared identically") {
		t.Errorf("the same file twice: exit status %d\n%s", code, stdout)
	}
	stdout, _, code = run(t, "", "check", "testdata/valid.yml", "testdata/conflict.yml")
	want := "error: workload web is declared by both testdata/valid.yml, service controller and testdata/conflict.yml, service shop"
	if code != ExitInvalid || !strings.Contains(stdout, want) {
		t.Errorf("exit status %d, want %q in\n%s", code, want, stdout)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, ExitError, "usage: tinyforge labels"},
		{[]string{"lint"}, ExitError, `unknown command "lint"`},
		{[]string{"schema", "extra"}, ExitError, `unexpected argument "extra"`},
		{[]string{"check", "--yaml"}, ExitError, "flag provided but not defined: -yaml"},
		{[]string{"help"}, ExitOK, ""},
		{[]string{"check", "-h"}, ExitOK, "-domain"},
	}
	for _, tt := range tests {
		_, stderr, code := run(t, "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("labels %q: exit status %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.stderr)
		}
	}
}

// TestSchemaIsLabelsMarkdown: `tinyforge labels schema > LABELS.md`
// reproduces the committed file byte for byte.
func TestSchemaIsLabelsMarkdown(t *testing.T) {
	stdout, stderr, code := run(t, "", "schema")
	if code != ExitOK || stderr != "" {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	want, err := os.ReadFile("../../../LABELS.md")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Errorf("labels schema output (%d bytes) differs from LABELS.md (%d bytes): run `go run ./cmd/tinyforge labels schema > LABELS.md`", len(stdout), len(want))
	}
}

// TestComposeExampleIsValid keeps compose.example.yml at the repository
// root from drifting into invalid labels.
func TestComposeExampleIsValid(t *testing.T) {
	stdout, stderr, code := run(t, "", "check", "../../../compose.example.yml")
	if code != ExitOK {
		t.Fatalf("compose.example.yml fails `tinyforge labels check` (exit status %d):\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "warning") || !strings.HasSuffix(stdout, "ok: 1 controller, 1 workload\n") {
		t.Errorf("want one controller with one workload and no warning:\n%s", stdout)
	}
}
