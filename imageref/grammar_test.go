package imageref

import (
	"strings"
	"testing"
)

func TestGrammars(t *testing.T) {
	tests := []struct {
		name      string
		valid     func(string) bool
		good, bad []string
	}{
		{"ValidTag", ValidTag,
			[]string{"v1", "1.27.0", "latest", "_x", "A-b.c_d", strings.Repeat("t", 128)},
			[]string{"", ".v1", "-v1", "v1/../x", "a b", "a:b", "sha256:" + hex64, strings.Repeat("t", 129), "é"}},
		{"ValidDigest", ValidDigest,
			[]string{"sha256:" + hex64, "sha384:" + hex64 + hex64[:32], "sha512:" + hex64 + hex64},
			[]string{"", "sha256:", "sha256:" + hex64[:63], "sha256:" + strings.ToUpper(hex64), "sha256:" + hex64 + "0",
				"md5:" + hex64, hex64, "sha256:" + strings.Repeat("g", 64), "sha512:" + hex64, " sha256:" + hex64}},
		{"LooksLikeDigest", LooksLikeDigest,
			[]string{"sha256:abc", "SHA256:" + hex64, "sha512:x"},
			[]string{"v1", "", "sha256", "sha384:" + hex64}},
	}
	for _, tt := range tests {
		for _, s := range tt.good {
			if !tt.valid(s) {
				t.Errorf("%s(%q) = false", tt.name, s)
			}
		}
		for _, s := range tt.bad {
			if tt.valid(s) {
				t.Errorf("%s(%q) = true", tt.name, s)
			}
		}
	}
}
