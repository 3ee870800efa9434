package imageref

import "testing"

func TestCanonicalHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"docker.io", "docker.io"},
		{"index.docker.io", "docker.io"},
		{"Registry-1.Docker.io", "docker.io"},
		{"registry.hub.docker.com", "docker.io"},
		{"GHCR.io", "ghcr.io"},
		{"Host:5000", "host:5000"},
		{"hub.docker.com", "hub.docker.com"}, // the web site, not a registry alias
	}
	for _, tt := range tests {
		if got := CanonicalHost(tt.in); got != tt.want {
			t.Errorf("CanonicalHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAPIHost(t *testing.T) {
	for in, want := range map[string]string{"docker.io": "registry-1.docker.io", "ghcr.io": "ghcr.io", "127.0.0.1:5000": "127.0.0.1:5000"} {
		if got := APIHost(in); got != want {
			t.Errorf("APIHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsHost(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"ghcr.io", true},
		{"registry.example.com:5000", true},
		{"host:5000", true},
		{"localhost", true},
		{"[::1]:5000", true},
		{"nginx", false},
		{"ghcr.io/acme", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsHost(tt.in); got != tt.want {
			t.Errorf("IsHost(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSplitHost(t *testing.T) {
	tests := []struct {
		in         string
		host, path string
		ok         bool
	}{
		{"ghcr.io/acme/web", "ghcr.io", "acme/web", true},
		{"ghcr.io/acme/web:v1", "ghcr.io", "acme/web", true},
		{"quay.io/ns/repo@sha256:" + hex64, "quay.io", "ns/repo", true},
		{"harbor.example.com:8443/proj/app:v1@sha256:" + hex64, "harbor.example.com:8443", "proj/app", true},
		{"host:5000/x", "host:5000", "x", true},
		{"nginx", "nginx", "", false},
		{"ghcr.io/", "ghcr.io", "", false},
		{"/x", "", "x", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		host, path, ok := SplitHost(tt.in)
		if host != tt.host || path != tt.path || ok != tt.ok {
			t.Errorf("SplitHost(%q) = %q, %q, %v; want %q, %q, %v", tt.in, host, path, ok, tt.host, tt.path, tt.ok)
		}
	}
}
