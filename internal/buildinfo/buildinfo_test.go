package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestGet(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Version: "(devel)"},
		Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}},
	}
	tests := []struct {
		name            string
		version, commit string
		bi              *debug.BuildInfo
		want            Info
	}{
		{"stamped wins", "v1.2.3", "deadbeef", vcs, Info{"v1.2.3", "deadbeef", "go1.26.8"}},
		{"toolchain's revision, dirty tree", "", "", vcs, Info{"dev", "abc123-dirty", "go1.26.8"}},
		{"module version of go install", "", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.0"}},
			Info{"v0.4.0", "unknown", "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(tt.version, tt.commit, tt.bi); got != tt.want {
				t.Errorf("get = %+v, want %+v", got, tt.want)
			}
		})
	}
	if s := (Info{"v1", "c", "go1.26"}).String(); s != "tinyforge v1 (commit c, go1.26)" {
		t.Errorf("String = %q", s)
	}
}
