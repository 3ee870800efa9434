package labels

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Volume scopes: where a volume's data lives. The deployer turns each into
// a Docker mount (deployer.ResolveVolumes).
const (
	// ScopeAbsolute binds Source, a host path under the sidecar's allowed paths.
	ScopeAbsolute = "absolute"
	// ScopeEphemeral is a tmpfs: empty at every start, gone at every stop.
	ScopeEphemeral = "ephemeral"
	// ScopeInstance binds a directory of its own per deployed tag.
	ScopeInstance = "instance"
	// ScopeStage binds one directory shared by every deploy of the workload.
	ScopeStage = "stage"
	// ScopeProject is a synonym of ScopeStage: one shared per-workload directory.
	ScopeProject = "project"
	// ScopeProjectNamed is a Docker named volume private to the workload.
	ScopeProjectNamed = "project_named"
	// ScopeNamed is a Docker named volume shared by name when the operator
	// allows the name; otherwise private to the workload.
	ScopeNamed = "named"
)

// InstancesDir is the directory under a workload's base directory holding
// the per-tag directories of instance volumes; no stage or project volume
// may take its name.
const InstancesDir = "instances"

// scopes documents every scope, in the order they are listed to users.
var scopes = []struct{ name, mount, data string }{
	{ScopeAbsolute, "bind", "`source` on the host; it must exist, lie under the sidecar's allowed volume paths (symlinks resolved) and not overlap the base volume path"},
	{ScopeEphemeral, "tmpfs", "in memory; empty at every start"},
	{ScopeInstance, "bind", "`<baseVolumePath>/<workload>/instances/<tag>/<volume>`: one directory per deployed tag"},
	{ScopeStage, "bind", "`<baseVolumePath>/<workload>/<volume>`: one directory shared by every deploy of the workload"},
	{ScopeProject, "bind", "same as stage"},
	{ScopeProjectNamed, "volume", "Docker volume `tf-<workload>_<name>`: private to the workload, so two workloads can both name theirs `data`"},
	{ScopeNamed, "volume", "Docker volume `<name>`, shared with every container that names it, when the operator allows the name (`--allowed-named-volumes`); any other name becomes `tf-<workload>_<name>`, private to the workload"},
}

// Scopes lists the volume scopes, in documentation order.
func Scopes() []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = s.name
	}
	return out
}

// EffectiveName is the name of a named or project_named volume declared
// under key: Name, or the key when Name is empty.
func (v *Volume) EffectiveName(key string) string { return cmp.Or(v.Name, key) }

var (
	// volumeKey is what a volume's key must be: it names a host directory.
	volumeKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)
	// dockerName is Docker's grammar of volume and network names.
	dockerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// ValidVolumeName reports whether name is a Docker volume name: Docker's
// grammar of names, at least 2 characters. The deployer checks the names
// it resolves and the sidecar its --allowed-named-volumes with it.
func ValidVolumeName(name string) bool { return len(name) >= 2 && dockerName.MatchString(name) }

// volumeProblems lists every problem of the workload's volumes; prefix is
// the workload's label prefix.
func (w *Workload) volumeProblems(prefix string, bad func(key, value, format string, args ...any)) {
	targets := make(map[string]string) // cleaned target → label of the first volume using it
	for _, key := range slices.Sorted(maps.Keys(w.Volumes)) {
		v := w.Volumes[key]
		if v == nil {
			continue
		}
		at := prefix + ".volumes." + key
		if !volumeKey.MatchString(key) {
			bad(at, key, "volume name %q must be 1-63 letters, digits, '_' or '-', starting with a letter or digit: it names a host directory", key)
		}

		switch {
		case v.Target == "":
			bad(at+".target", "", "missing: set the absolute path inside the container, e.g. /data")
		case !path.IsAbs(v.Target):
			bad(at+".target", v.Target, "%q is not an absolute path inside the container", v.Target)
		case path.Clean(v.Target) == "/":
			bad(at+".target", v.Target, "cannot mount a volume over the container's root /")
		default:
			clean := path.Clean(v.Target)
			if first, dup := targets[clean]; dup {
				bad(at+".target", v.Target, "%q is already the target of %s: a container path takes one volume", v.Target, first)
			}
			targets[clean] = cmp.Or(targets[clean], at+".target")
		}

		known := slices.Contains(Scopes(), v.Scope)
		switch {
		case v.Scope == "":
			bad(at+".scope", "", "missing: set one of %s", strings.Join(Scopes(), ", "))
		case !known:
			hint := didYouMean(v.Scope, Scopes())
			if hint != "" {
				hint = "; " + hint
			}
			bad(at+".scope", v.Scope, "%q is not a volume scope (one of %s)%s", v.Scope, strings.Join(Scopes(), ", "), hint)
		}

		switch {
		case v.Scope == ScopeAbsolute && v.Source == "":
			bad(at+".source", "", "missing: an absolute volume binds a host path, e.g. /srv/data/web")
		case v.Scope == ScopeAbsolute && !path.IsAbs(v.Source):
			bad(at+".source", v.Source, "%q is not an absolute host path", v.Source)
		case known && v.Scope != ScopeAbsolute && v.Source != "":
			bad(at+".source", v.Source, "only absolute volumes take a source; scope %s decides where the data lives: remove source or use scope absolute", v.Scope)
		}

		named := v.Scope == ScopeNamed || v.Scope == ScopeProjectNamed
		switch name := v.EffectiveName(key); {
		case known && !named && v.Name != "":
			bad(at+".name", v.Name, "only named and project_named volumes take a name: remove it")
		case named && !dockerName.MatchString(name):
			bad(at+".name", v.Name, "%q is not a valid Docker volume name (letters, digits, '_', '.', '-', starting with a letter or digit)", name)
		case v.Scope == ScopeNamed && len(name) < 2:
			bad(at+".name", v.Name, "%q is too short for a Docker volume name (at least 2 characters)", name)
		}

		if (v.Scope == ScopeStage || v.Scope == ScopeProject) && strings.EqualFold(key, InstancesDir) {
			bad(at, key, "volume name %q is reserved for the per-tag directories of instance volumes: pick another name", key)
		}
		if v.Scope == ScopeEphemeral && v.ReadOnly {
			bad(at+".readOnly", "true", "an ephemeral volume starts empty, so a read-only one stays empty: remove readOnly or change the scope")
		}
	}
}

// problems lists every problem of the settings, each naming its label.
func (s *Settings) problems() []error {
	var errs []error
	bad := func(key, value, format string, args ...any) {
		errs = append(errs, &Error{Key: Root + ".settings." + key, Value: value, Reason: fmt.Sprintf(format, args...)})
	}
	if s.Network != "" && (!dockerName.MatchString(s.Network) || len(s.Network) > 128) {
		bad("network", s.Network, "%q is not a valid Docker network name (up to 128 letters, digits, '_', '.', '-', starting with a letter or digit)", s.Network)
	}
	if s.Domain != "" && !isHostname(s.Domain) {
		bad("domain", s.Domain, "%q is not a valid domain name (dot-separated labels of letters, digits and '-')", s.Domain)
	}
	switch p := s.BaseVolumePath; {
	case p == "":
	case !path.IsAbs(p):
		bad("baseVolumePath", p, "%q is not an absolute host path", p)
	case path.Clean(p) == "/":
		bad("baseVolumePath", p, "the host's root / cannot be the base volume path: name a directory for tinyforge's volumes")
	}
	return errs
}

// isHostname tells whether s is one or more DNS labels separated by dots.
func isHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for l := range strings.SplitSeq(s, ".") {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
