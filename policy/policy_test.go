package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImages(t *testing.T) {
	im, err := ParseImages([]string{"ghcr.io/acme", "127.0.0.1:5000", "nginx", "index.docker.io/", "docker.io/library/redis", " "})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref string
		ok  bool
	}{
		{"ghcr.io/acme/web:v1", true},
		{"ghcr.io/acme:v1", true},
		{"GHCR.io/acme/web", true},
		{"ghcr.io/acme/team/web@sha256:" + strings.Repeat("a", 64), true},
		{"ghcr.io/acme-evil/web:v1", false},
		{"ghcr.io/other/web", false},
		{"127.0.0.1:5000/anything/at:all", true},
		{"127.0.0.1:5001/x", false},
		{"nginx:1.27", true},
		{"docker.io/library/nginx", true},
		{"anyone/on-hub", true}, // index.docker.io entry = all of Docker Hub
		{"evil.example/library/nginx", false},
		{"evil.example/ghcr.io/acme/web", false},
	}
	for _, c := range cases {
		err := im.Allows(c.ref)
		if (err == nil) != c.ok {
			t.Errorf("Allows(%q) = %v, want ok=%v", c.ref, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrImageNotAllowed) {
			t.Errorf("Allows(%q) = %v, want ErrImageNotAllowed", c.ref, err)
		}
	}

	hubless, _ := ParseImages([]string{"ghcr.io"})
	if err := hubless.Allows("nginx"); err == nil || !strings.Contains(err.Error(), "nginx (docker.io/library/nginx) not allowed by --allowed-images [ghcr.io]") {
		t.Errorf("error = %v", err)
	}
	if err := hubless.Allows("Bad..Ref"); err == nil || errors.Is(err, ErrImageNotAllowed) {
		t.Errorf("invalid ref = %v, want a parse error", err)
	}
	// Every Docker Hub alias names the same repositories, official images
	// included: registry-1.docker.io/nginx is docker.io/library/nginx.
	official, _ := ParseImages([]string{"nginx"})
	for _, ref := range []string{"registry-1.docker.io/nginx", "registry.hub.docker.com/library/nginx:1.27"} {
		if err := official.Allows(ref); err != nil {
			t.Errorf("Allows(%q) with [nginx] = %v", ref, err)
		}
	}
	var all Images
	if err := all.Allows("anything/at:all"); err != nil || !all.Empty() {
		t.Errorf("empty list refuses: %v", err)
	}

	for _, bad := range []string{"ghcr.io/acme:v1", "ghcr.io/acme@sha256:" + strings.Repeat("a", 64), "ghcr.io/Acme", "a//b"} {
		if _, err := ParseImages([]string{bad}); err == nil || !strings.Contains(err.Error(), "allowed image") {
			t.Errorf("ParseImages(%q) = %v, want an error", bad, err)
		}
	}
}

func TestPaths(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "srv")
	other := filepath.Join(dir, "etc")
	for _, d := range []string{root, filepath.Join(root, "app"), other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A symlinked root is compared by its target.
	linkedRoot := filepath.Join(dir, "data")
	must(t, os.Symlink(root, linkedRoot))
	// Escapes: a symlink inside the root pointing out, a dangling one.
	must(t, os.Symlink(other, filepath.Join(root, "escape")))
	must(t, os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(root, "dangling")))
	must(t, os.Symlink(filepath.Join(root, "app"), filepath.Join(other, "back-in")))

	p, err := ParsePaths([]string{linkedRoot})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		src, want, err string
	}{
		{filepath.Join(root, "app"), filepath.Join(root, "app"), ""},
		{filepath.Join(linkedRoot, "app"), filepath.Join(root, "app"), ""},
		{root, root, ""},
		{filepath.Join(root, "new", "dir"), filepath.Join(root, "new", "dir"), ""}, // Docker creates it
		{filepath.Join(other, "back-in"), filepath.Join(root, "app"), ""},          // symlink into the root
		{filepath.Join(root, "..", "etc"), "", "outside --allowed-volume-paths"},
		{filepath.Join(root, "app", "..", "..", "etc", "passwd"), "", "outside --allowed-volume-paths"},
		{filepath.Join(root, "escape"), "", "resolves to " + other},
		{filepath.Join(root, "escape", "shadow"), "", "outside --allowed-volume-paths"},
		{filepath.Join(root, "dangling"), "", "dangling symlink"},
		{filepath.Join(root, "dangling", "x"), "", "dangling symlink"},
		{root + "-sibling", "", "outside --allowed-volume-paths"},
		{"relative/path", "", "not absolute"},
		{"/var/run/docker.sock", "", "outside --allowed-volume-paths"},
	}
	for _, c := range cases {
		got, err := p.Check(c.src)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Check(%s) = %q, %v; want error %q", c.src, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Check(%s) = %q, %v; want %q", c.src, got, err, c.want)
		}
	}

	var none Paths
	if _, err := none.Check(filepath.Join(root, "app")); !errors.Is(err, ErrPathNotAllowed) || !strings.Contains(err.Error(), "none configured") {
		t.Errorf("empty Paths = %v", err)
	}
	for _, bad := range []struct{ in, want string }{
		{"relative", "not absolute"},
		{filepath.Join(dir, "missing"), "mounted at the same path"},
		{"/", "allows everything"},
		{filepath.Join(root, "..", ".."), ""},
	} {
		_, err := ParsePaths([]string{bad.in})
		if bad.want == "" {
			continue // a parent of the temp dir exists: fine
		}
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParsePaths(%q) = %v, want %q", bad.in, err, bad.want)
		}
	}
}

func TestLimits(t *testing.T) {
	const g = 1 << 30
	cases := []struct {
		name             string
		l                Limits
		cpu, mem         int64
		wantCPU, wantMem int64
		capped           bool
	}{
		{"nothing set", Limits{}, 0, 0, 0, 0, false},
		{"label only", Limits{}, 2e9, g, 2e9, g, false},
		{"defaults fill in", Limits{DefaultNanoCPUs: 5e8, DefaultMemory: g / 2}, 0, 0, 5e8, g / 2, false},
		{"label beats default", Limits{DefaultNanoCPUs: 5e8, DefaultMemory: g / 2}, 1e9, g, 1e9, g, false},
		{"max caps label", Limits{MaxNanoCPUs: 1e9, MaxMemory: g}, 4e9, 2 * g, 1e9, g, true},
		{"max applies to unlimited", Limits{MaxNanoCPUs: 1e9, MaxMemory: g}, 0, 0, 1e9, g, false},
		{"under max kept", Limits{MaxNanoCPUs: 2e9, MaxMemory: 2 * g}, 1e9, g, 1e9, g, false},
		{"default under max", Limits{MaxNanoCPUs: 2e9, DefaultNanoCPUs: 1e9}, 0, 0, 1e9, 0, false},
		{"negative treated as unset", Limits{MaxMemory: g}, -1, -5, 0, g, false},
	}
	for _, c := range cases {
		cpu, mem, capped := c.l.Apply(c.cpu, c.mem)
		if cpu != c.wantCPU || mem != c.wantMem || capped != c.capped {
			t.Errorf("%s: Apply = %d, %d, %v; want %d, %d, %v", c.name, cpu, mem, capped, c.wantCPU, c.wantMem, c.capped)
		}
	}
	if err := (Limits{MaxNanoCPUs: 1, DefaultNanoCPUs: 2}).Validate(); err == nil {
		t.Error("default cpu above max accepted")
	}
	if err := (Limits{MaxMemory: 1, DefaultMemory: 2}).Validate(); err == nil {
		t.Error("default memory above max accepted")
	}
}

func TestParseUnits(t *testing.T) {
	cpus := map[string]int64{"": 0, "0": 0, "2": 2e9, "0.5": 5e8, "1.25": 1.25e9}
	for in, want := range cpus {
		if got, err := ParseCPU(in); err != nil || got != want {
			t.Errorf("ParseCPU(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "two", "NaN", "1e9"} {
		if _, err := ParseCPU(bad); err == nil {
			t.Errorf("ParseCPU(%q) accepted", bad)
		}
	}
	mems := map[string]int64{"": 0, "0": 0, "512m": 512 << 20, "1g": 1 << 30, "1GiB": 1 << 30, "6m": 6 << 20}
	for in, want := range mems {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"1k", "lots", "-1g", "5m"} {
		if _, err := ParseMemory(bad); err == nil {
			t.Errorf("ParseMemory(%q) accepted", bad)
		}
	}
	if CoresToNano(1.5) != 1.5e9 || CoresToNano(-1) != 0 || MBToBytes(256) != 256<<20 || MBToBytes(0) != 0 {
		t.Error("label unit conversion")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPIDs(t *testing.T) {
	cases := []struct {
		name   string
		max    int64
		asked  int64
		want   int64
		capped bool
	}{
		{"default applies the maximum", DefaultMaxPIDs, 0, DefaultMaxPIDs, false},
		{"a label may lower it", DefaultMaxPIDs, 100, 100, false},
		{"a label may not raise it", 512, 100000, 512, true},
		{"negative is unset", 512, -1, 512, false},
		{"no maximum: the label stands", 0, 100, 100, false},
		{"no maximum, no label: unlimited", 0, 0, 0, false},
	}
	for _, c := range cases {
		got, capped := Limits{MaxPIDs: c.max}.PIDs(c.asked)
		if got != c.want || capped != c.capped {
			t.Errorf("%s: PIDs(%d) with max %d = %d, %v; want %d, %v", c.name, c.asked, c.max, got, capped, c.want, c.capped)
		}
	}
}
