// Package buildinfo says which tinyforge this binary is: the version and
// commit the release build stamped into it (make build, make image:
// -ldflags -X), else what the Go toolchain recorded (module version, VCS
// revision), and the Go version. It owns nothing else and imports nothing
// of tinyforge.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time: go build -ldflags "-X github.com/tinyforge/tinyforge/internal/buildinfo.Version=v1.2.3 -X ...Commit=<sha>".
var (
	Version = ""
	Commit  = ""
)

// Info is the identity of this binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go"`
}

// Get returns the stamped version and commit, falling back on the build
// info the toolchain embeds: the module version ("(devel)" for a local
// build becomes "dev") and the vcs.revision, marked "-dirty" when the
// tree had changes.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(Version, Commit, bi)
}

func get(version, commit string, bi *debug.BuildInfo) Info {
	info := Info{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if bi != nil {
		info.GoVersion = bi.GoVersion
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if info.Commit == "" {
			var rev, modified string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if rev != "" && modified == "true" {
				rev += "-dirty"
			}
			info.Commit = rev
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// String is the one line `tinyforge version` prints.
func (i Info) String() string {
	return fmt.Sprintf("tinyforge %s (commit %s, %s)", i.Version, i.Commit, i.GoVersion)
}
