package testsvc

import "testing"

func TestInterleaved(t *testing.T) {
	stdout, stderr := []string{"a", "b", "c"}, []string{"x"}
	for _, tt := range []struct {
		out  string
		want bool
	}{
		{"a\nb\nc\nx\n", true},
		{"x\na\nb\nc\n", true},
		{"a\nx\nb\nc\n", true},
		{"a\nc\nb\nx\n", false}, // stdout out of order
		{"a\nb\nx\n", false},    // a stdout line lost
		{"a\nb\nc\n", false},    // the stderr line lost
		{"a\nb\nc\nx\nx\n", false},
		{"a\nb\nc\nx", false}, // no final newline
	} {
		if got := Interleaved(tt.out, stdout, stderr); got != tt.want {
			t.Errorf("Interleaved(%q) = %v, want %v", tt.out, got, tt.want)
		}
	}
}
