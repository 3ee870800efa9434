package labels

import "testing"

func TestAllowsTag(t *testing.T) {
	tests := []struct {
		pattern string
		allow   []string
		deny    []string
	}{
		{pattern: "", allow: []string{"latest", "v1", "anything"}},
		{pattern: "v*", allow: []string{"v1", "v1.2.3", "v"}, deny: []string{"latest", "1.0", "dev-v1"}},
		{pattern: "stable, v*", allow: []string{"stable", "v2"}, deny: []string{"stable2", "latest"}},
		{pattern: "v?.[0-9]", allow: []string{"v1.2"}, deny: []string{"v10.2", "v1.x"}},
		{pattern: "[^a-z]*", allow: []string{"1.0", "_x"}, deny: []string{"v1"}},
		{pattern: `/v\d+\.\d+\.\d+/`, allow: []string{"v1.2.3", "v10.20.30"}, deny: []string{"v1.2", "v1.2.3-rc1", "xv1.2.3"}},
		{pattern: `/^v\d+$/`, allow: []string{"v1"}, deny: []string{"v1a"}},
		{pattern: `/a|b/`, allow: []string{"a", "b"}, deny: []string{"ab", "xa"}},
		{pattern: `/x(/`, deny: []string{"x(", "x"}},        // invalid: allows nothing
		{pattern: "v[", deny: []string{"v[", "v1"}},         // invalid glob
		{pattern: "release/*", deny: []string{"release/1"}}, // can never match
	}
	for _, tt := range tests {
		w := &Workload{Tags: tt.pattern}
		for _, tag := range tt.allow {
			if !w.AllowsTag(tag) {
				t.Errorf("tags %q refuses %q", tt.pattern, tag)
			}
		}
		for _, tag := range tt.deny {
			if w.AllowsTag(tag) {
				t.Errorf("tags %q allows %q", tt.pattern, tag)
			}
		}
	}
}
