package labels

import (
	"strings"
	"testing"
)

// The name grammars other packages take from labels (deployer and sidecar:
// volume names; notify: target names; secrets: workload names), at their
// edges.
func TestNameGrammars(t *testing.T) {
	for _, tt := range []struct {
		what  string
		valid func(string) bool
		ok    []string
		bad   []string
	}{
		{"volume", ValidVolumeName,
			[]string{"ab", "shared", "My_vol.1-x", "0a"},
			[]string{"", "a", "-ab", ".ab", "_ab", "a/b", "a b", "ab:c"}},
		{"notify target", ValidNotifyTarget,
			[]string{"a", "ops", "team_1-x", strings.Repeat("a", 32)},
			[]string{"", "-a", "_a", "Ops", "a.b", "a b", strings.Repeat("a", 33)}},
		{"workload", ValidWorkloadName,
			[]string{"a", "web", "web-2", strings.Repeat("a", 63)},
			[]string{"", "-web", "web-", "Web", "web_2", "web.x", strings.Repeat("a", 64)}},
	} {
		for _, n := range tt.ok {
			if !tt.valid(n) {
				t.Errorf("%s name %q refused", tt.what, n)
			}
		}
		for _, n := range tt.bad {
			if tt.valid(n) {
				t.Errorf("%s name %q accepted", tt.what, n)
			}
		}
	}
}
