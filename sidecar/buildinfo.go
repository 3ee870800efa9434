package sidecar

import "runtime/debug"

// buildInfo is the module version and VCS revision the binary was built
// from, for tinyforge_build_info ("" when the build does not say).
func buildInfo() (version, commit string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	version = bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			commit = s.Value[:min(12, len(s.Value))]
		}
	}
	return version, commit
}
