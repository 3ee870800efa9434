package imageref

import (
	"strings"
	"testing"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
	}{
		{"nginx", Ref{Host: "docker.io", Path: "library/nginx"}},
		{"nginx:1.27", Ref{Host: "docker.io", Path: "library/nginx", Tag: "1.27"}},
		{"docker.io/nginx", Ref{Host: "docker.io", Path: "library/nginx"}},
		{"index.docker.io/library/nginx", Ref{Host: "docker.io", Path: "library/nginx"}},
		{"registry-1.docker.io/nginx", Ref{Host: "docker.io", Path: "library/nginx"}},
		{"Registry.Hub.Docker.com/team/web", Ref{Host: "docker.io", Path: "team/web"}},
		{"team/web", Ref{Host: "docker.io", Path: "team/web"}},
		{"GHCR.io/acme/web:v1", Ref{Host: "ghcr.io", Path: "acme/web", Tag: "v1"}},
		{"host:5000/x", Ref{Host: "host:5000", Path: "x"}},
		{"localhost/x", Ref{Host: "localhost", Path: "x"}},
		{"[::1]:5000/x", Ref{Host: "[::1]:5000", Path: "x"}},
		{"quay.io/ns/repo@sha256:" + hex64, Ref{Host: "quay.io", Path: "ns/repo", Digest: "sha256:" + hex64}},
		{"quay.io/ns/repo:v2@sha256:" + hex64, Ref{Host: "quay.io", Path: "ns/repo", Tag: "v2", Digest: "sha256:" + hex64}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRefusesWithClearErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "image reference is empty"},
		{" ", "image reference is empty"},
		{"a b", `image "a b": invalid reference format`},
		{"x//y", `image "x//y": invalid reference format`},
		{"-x/y", `image "-x/y": invalid reference format`},
		{"host:5000/", `image "host:5000/": invalid reference format`},
		{"ghcr.io/o/a:tag:again", `image "ghcr.io/o/a:tag:again": invalid reference format`},
		{"ghcr.io/Owner/App", `image "ghcr.io/Owner/App": invalid reference format: repository name (Owner/App) must be lowercase`},
		{"x:" + strings.Repeat("t", 129), `image "x:tttt`},
		{"x@sha256:" + hex64[:32], `image "x@sha256:0123456789abcdef0123456789abcdef": invalid checksum digest length`},
		{hex64, "cannot specify 64-byte hexadecimal strings"},
		{"ghcr.io/" + strings.Repeat("a", 256), "repository name must not be more than 255 characters"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %+v, %v; want an error containing %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRefForms(t *testing.T) {
	r, err := Parse("Index.Docker.io/team/web:v1@sha256:" + hex64)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.String(), "docker.io/team/web:v1@sha256:"+hex64; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := r.Repository(); got != "docker.io/team/web" {
		t.Errorf("Repository = %q", got)
	}
	if r.NameOnly() {
		t.Error("a tagged and digested reference is NameOnly")
	}
	if bare, _ := Parse("web"); !bare.NameOnly() || bare.String() != "docker.io/library/web" {
		t.Errorf("Parse(web) = %+v, NameOnly %v", bare, bare.NameOnly())
	}
}

func TestRepository(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nginx", "docker.io/library/nginx"},
		{"library/nginx", "docker.io/library/nginx"},
		{"docker.io/library/nginx", "docker.io/library/nginx"},
		{"docker.io/nginx", "docker.io/library/nginx"},
		{"index.docker.io/library/nginx", "docker.io/library/nginx"},
		{"registry-1.docker.io/library/nginx", "docker.io/library/nginx"},
		{"nginx:1.27", "docker.io/library/nginx"},
		{"svendowideit/testhook", "docker.io/svendowideit/testhook"},
		{"ghcr.io/Owner/App", "ghcr.io/owner/app"},
		{"GHCR.IO/owner/app", "ghcr.io/owner/app"},
		{"host:5000/x", "host:5000/x"},
		{"host:5000/x:v1", "host:5000/x"},
		{"127.0.0.1:5000/team/web", "127.0.0.1:5000/team/web"},
		{"localhost/x", "localhost/x"},
		{"quay.io/ns/repo@sha256:" + hex64, "quay.io/ns/repo"},
		{" registry.example.com/a/b/c ", "registry.example.com/a/b/c"},
	}
	for _, tt := range tests {
		got, err := Repository(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Repository(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "a b", "host:5000/", "-x/y", "x//y", "ghcr.io/o/a:tag:again"} {
		got, err := Repository(bad)
		if err == nil {
			t.Errorf("Repository(%q) = %q, want an error", bad, got)
			continue
		}
		if bad != "" && !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("Repository(%q) error %q does not quote the input", bad, err)
		}
	}
}

func TestSameRepository(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"docker.io/library/nginx", "nginx", true},
		{"index.docker.io/library/nginx", "nginx", true},
		{"index.docker.io/library/nginx", "docker.io/library/nginx", true},
		{"registry-1.docker.io/nginx", "nginx:1.27", true},
		{"ghcr.io/Owner/App", "ghcr.io/owner/app", true},
		{"host:5000/x", "host:5000/x", true},
		{"host:5000/x", "host:5001/x", false},
		{"host:5000/x", "docker.io/library/x", false},
		{"host/x", "x", false}, // no dot or port: "host" is a Hub namespace
		{"nginx", "nginx2", false},
		{"team/web", "team/web/api", false},
		{"", "", false},
		{"a b", "a b", false},
	}
	for _, tt := range tests {
		if got := SameRepository(tt.a, tt.b); got != tt.want {
			t.Errorf("SameRepository(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
