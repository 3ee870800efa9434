package notify

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/internal/testlog"
)

// flagSet adapts a plain flag.FlagSet to Flags, as the sidecar's will.
type flagSet struct{ *flag.FlagSet }

func (f flagSet) String(p *string, name, def, usage string) { f.StringVar(p, name, def, usage) }
func (f flagSet) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	f.DurationVar(p, name, def, usage)
}
func (f flagSet) Var(v flag.Value, name, usage string) { f.FlagSet.Var(v, name, usage) }

func parse(t *testing.T, args ...string) Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(flagSet{fs})
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return c
}

func TestFlags(t *testing.T) {
	c := parse(t)
	if len(c.Targets) != 0 || c.Window != 5*time.Second || c.Default != "" {
		t.Errorf("defaults = %+v", c)
	}
	c = parse(t, "--notify", "ops=ntfy://ntfy.example/ops", "--notify", "dev=generic+https://hooks.example/x y=ntfy://h/t",
		"--notify-default", "ops", "--notify-window", "1s")
	if want := []string{"ops=ntfy://ntfy.example/ops", "dev=generic+https://hooks.example/x", "y=ntfy://h/t"}; strings.Join(c.Targets, " ") != strings.Join(want, " ") {
		t.Errorf("targets = %q, want %q (repeatable, several per value)", c.Targets, want)
	}
	if c.Default != "ops" || c.Window != time.Second {
		t.Errorf("parsed %+v", c)
	}
	n, err := New(c, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if !n.Has("ops") || !n.Has("dev") || !n.Has("y") || strings.Join(n.defaults, ",") != "ops" {
		t.Errorf("targets %v defaults %v", n.names, n.defaults)
	}
	// The usage text never shows a value.
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var c2 Config
	c2.RegisterFlags(flagSet{fs})
	_ = fs.Set("notify", "ops=ntfy://user:hunter2@ntfy.example/ops")
	var usage strings.Builder
	fs.SetOutput(&usage)
	fs.PrintDefaults()
	if strings.Contains(usage.String(), "hunter2") {
		t.Errorf("usage shows a URL:\n%s", usage.String())
	}
}

func TestDefaults(t *testing.T) {
	two := []string{"a=ntfy://h/a", "b=ntfy://h/b"}
	for _, c := range []struct {
		def  string
		want string
	}{{"", "a,b"}, {"none", ""}, {"b", "b"}, {" a , b ", "a,b"}} {
		n, err := New(Config{Targets: two, Default: c.def}, Options{})
		if err != nil {
			t.Fatalf("default %q: %v", c.def, err)
		}
		if got := strings.Join(n.defaults, ","); got != c.want {
			t.Errorf("default %q: %q, want %q", c.def, got, c.want)
		}
	}
}

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	if err := os.WriteFile(path, []byte("# targets\nops=ntfy://h/ops\n\n  dev=generic+https://hooks.example/x  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Targets: []string{"cli=ntfy://h/cli"}, File: path}, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, name := range []string{"cli", "ops", "dev"} {
		if !n.Has(name) {
			t.Errorf("no target %s from flag and file", name)
		}
	}
	if _, err := New(Config{File: filepath.Join(t.TempDir(), "missing")}, Options{}); err == nil || !strings.Contains(err.Error(), "--notify-file") {
		t.Errorf("missing file: %v", err)
	}
}

// TestBadConfigNeverQuotesTheURL: every error names the entry, target or
// scheme at fault, and no error carries the URL's secret.
func TestBadConfigNeverQuotesTheURL(t *testing.T) {
	const secret = "s3cr3tT0ken"
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Targets: []string{"ntfy://" + secret + "@h/t"}}, "--notify entry 1: want NAME=URL"},
		{Config{Targets: []string{"Ops=ntfy://" + secret + "@h/t"}}, `target name "Ops"`},
		{Config{Targets: []string{"none=ntfy://" + secret + "@h/t"}}, "reserved"},
		{Config{Targets: []string{"a=ntfy://h/a", "a=ntfy://" + secret + "@h/t"}}, `target "a" is given twice`},
		{Config{Targets: []string{"a=nosuch://" + secret + "@h/t"}}, "notify target a (nosuch): unknown service"},
		{Config{Targets: []string{"a=ntfy://" + secret + "@h"}}, "notify target a (ntfy): the service refused the URL"},
		{Config{Targets: []string{"a=generic+ftp://" + secret + "@h/%zz"}}, "notify target a (generic+ftp):"},
		{Config{Targets: []string{"a=ntfy://h/a"}, Default: "b"}, `--notify-default: no target named "b"`},
	} {
		_, err := New(c.cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.cfg, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error quotes the URL: %v", err)
		}
	}
}

// TestSendErrorsNeverLogTheURL: a failing target's logs carry its name and
// scheme, and no part of its URL's credentials.
func TestSendErrorsNeverLogTheURL(t *testing.T) {
	const secret = "Bearer-s3cr3tT0ken"
	r := newReceiver(t, func(int) int { return http.StatusForbidden })
	var logs testlog.Buffer
	var rep reports
	url := "generic://" + r.addr() + "/hooks/" + secret + "?disabletls=yes&@Authorization=" + secret + "&token=" + secret
	n := start(t, Config{Targets: []string{"ops=" + url}, Window: time.Millisecond},
		Options{Attempts: 2, Backoff: time.Millisecond, Report: rep.report, Log: zerolog.New(&logs)})
	n.Notify(Event{Kind: Succeeded, Workload: "shop"})
	rep.waitFor(t, "ops failed", 1)
	if got := r.requests(); len(got) != 2 || got[0].Header.Get("Authorization") != secret {
		t.Fatalf("receiver got %d requests (Authorization %q)", len(got), got[0].Header.Get("Authorization"))
	}
	out := logs.String()
	if strings.Contains(out, "s3cr3t") || strings.Contains(out, r.addr()) {
		t.Errorf("logs carry the URL:\n%s", out)
	}
	for _, want := range []string{`"target":"ops"`, `"scheme":"generic"`, "403", "giving up"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}

// TestUnreachableTargetErrorIsScrubbed: a dial error (which quotes the
// request URL) is logged without it.
func TestUnreachableTargetErrorIsScrubbed(t *testing.T) {
	var logs testlog.Buffer
	var rep reports
	n := start(t, Config{Targets: []string{"ops=generic+http://127.0.0.1:1/hook/priv4teKey?k=priv4teKey"}, Window: time.Millisecond},
		Options{Attempts: 1, Report: rep.report, Log: zerolog.New(&logs)})
	n.Notify(Event{Kind: Succeeded, Workload: "shop"})
	rep.waitFor(t, "ops failed", 1)
	if out := logs.String(); strings.Contains(out, "priv4teKey") || !strings.Contains(out, "giving up") {
		t.Errorf("logs:\n%s", out)
	}
}
