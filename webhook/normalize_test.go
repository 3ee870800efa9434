package webhook

import "testing"

func TestRepository(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nginx", "docker.io/library/nginx"},
		{"library/nginx", "docker.io/library/nginx"},
		{"docker.io/library/nginx", "docker.io/library/nginx"},
		{"docker.io/nginx", "docker.io/library/nginx"},
		{"index.docker.io/library/nginx", "docker.io/library/nginx"},
		{"nginx:1.27", "docker.io/library/nginx"},
		{"svendowideit/testhook", "docker.io/svendowideit/testhook"},
		{"ghcr.io/Owner/App", "ghcr.io/owner/app"},
		{"GHCR.IO/owner/app", "ghcr.io/owner/app"},
		{"host:5000/x", "host:5000/x"},
		{"host:5000/x:v1", "host:5000/x"},
		{"127.0.0.1:5000/team/web", "127.0.0.1:5000/team/web"},
		{"localhost/x", "localhost/x"},
		{"quay.io/ns/repo@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "quay.io/ns/repo"},
		{" registry.example.com/a/b/c ", "registry.example.com/a/b/c"},
	}
	for _, tt := range tests {
		got, err := Repository(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Repository(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "a b", "host:5000/", "-x/y", "x//y", "ghcr.io/o/a:tag:again"} {
		if got, err := Repository(bad); err == nil {
			t.Errorf("Repository(%q) = %q, want an error", bad, got)
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
