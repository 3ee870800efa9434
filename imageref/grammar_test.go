package imageref

import (
	"strings"
	"testing"
)

func TestValidTag(t *testing.T) {
	good := []string{"v1", "1.27.0", "latest", "_x", "A-b.c_d", strings.Repeat("t", 128)}
	bad := []string{"", ".v1", "-v1", "v1/../x", "a b", "a:b", "sha256:" + hex64, strings.Repeat("t", 129), "é"}
	for _, s := range good {
		if !ValidTag(s) {
			t.Errorf("ValidTag(%q) = false", s)
		}
	}
	for _, s := range bad {
		if ValidTag(s) {
			t.Errorf("ValidTag(%q) = true", s)
		}
	}
}

func TestValidDigest(t *testing.T) {
	good := []string{"sha256:" + hex64, "sha384:" + hex64 + hex64[:32], "sha512:" + hex64 + hex64}
	bad := []string{"", "sha256:", "sha256:" + hex64[:63], "sha256:" + strings.ToUpper(hex64), "sha256:" + hex64 + "0",
		"md5:" + hex64, hex64, "sha256:" + strings.Repeat("g", 64), "sha512:" + hex64}
	for _, s := range good {
		if !ValidDigest(s) {
			t.Errorf("ValidDigest(%q) = false", s)
		}
	}
	for _, s := range bad {
		if ValidDigest(s) {
			t.Errorf("ValidDigest(%q) = true", s)
		}
	}
}

func TestLooksLikeDigest(t *testing.T) {
	for s, want := range map[string]bool{
		"sha256:abc": true, "SHA256:" + hex64: true, "sha512:x": true,
		"v1": false, "": false, "sha256": false, "sha384:" + hex64: false,
	} {
		if got := LooksLikeDigest(s); got != want {
			t.Errorf("LooksLikeDigest(%q) = %v, want %v", s, got, want)
		}
	}
}
