package deployer

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tinyforge/tinyforge/labels"
)

// Mount types, as Docker's mount API names them.
const (
	MountBind   = "bind"
	MountTmpfs  = "tmpfs"
	MountVolume = "volume"
)

// Mount is one mount of a workload container.
type Mount struct {
	Type     string // MountBind, MountTmpfs or MountVolume
	Source   string // host path (bind) or Docker volume name (volume); empty for tmpfs
	Target   string // path inside the container
	ReadOnly bool
	// CreateDir asks the Docker adapter to create Source before the
	// container is created, refusing any symlink on the way: instance,
	// stage and project directories are tinyforge's own. Absolute sources
	// are the user's: they must exist and are never created.
	CreateDir bool
}

// VolumePolicy is the sidecar's security policy for host paths. It comes
// from sidecar flags, never from labels, so a controller cannot widen it.
type VolumePolicy struct {
	// BaseVolumePath holds instance, stage and project directories.
	BaseVolumePath string
	// AllowedPaths are the host directories binds may reach: absolute
	// sources and the base volume path must lie beneath one of them.
	AllowedPaths []string
	// AllowedNamedVolumes are the Docker volume names a named volume may
	// take as they are (--allowed-named-volumes); any other name is
	// namespaced to the workload like a project_named volume.
	AllowedNamedVolumes []string
}

// ErrVolumeRefused is wrapped by the problems of volumes that resolve to a
// host path outside the policy.
var ErrVolumeRefused = errors.New("volume refused")

// ResolveVolumes turns the volumes of w, deploying tag, into Docker mounts,
// in volume-name order. A volume that cannot be resolved is left out and
// reported as a *labels.Error naming its label; the others still resolve,
// so one bad volume never blocks a deploy. It touches Docker not at all
// and the filesystem only to resolve symlinks.
//
// An absolute source is checked after filepath.Clean and after resolving
// its symlinks, must exist, and may not overlap the base volume path
// (which holds every workload's directories); the mount uses the resolved
// path. Below the base volume path no symlink is accepted at all. Either
// way the mount's source holds no symlink, and the Docker adapter walks it
// again without following any (creating tinyforge's own directories) just
// before the container is created, so a symlink planted after this check
// is refused there rather than followed.
func ResolveVolumes(w *labels.Workload, tag string, p VolumePolicy) (mounts []Mount, problems []error) {
	prefix := labels.Root + ".workloads." + w.Name + ".volumes."
	problem := func(key, value string, err error, format string, args ...any) {
		problems = append(problems, &labels.Error{Key: key, Value: value, Workload: w.Name, Reason: fmt.Sprintf(format, args...), Err: err})
	}
	allowed := resolveAllowed(p.AllowedPaths)
	base, baseErr := resolveBase(p.BaseVolumePath, allowed)
	bases := baseSpellings(p.BaseVolumePath, base)
	targets := make(map[string]string)

	for _, key := range slices.Sorted(maps.Keys(w.Volumes)) {
		v := w.Volumes[key]
		if v == nil {
			continue
		}
		at := prefix + key
		if v.Target == "" || !path.IsAbs(v.Target) {
			problem(at+".target", v.Target, nil, "%q is not an absolute path inside the container", v.Target)
			continue
		}
		m := Mount{Target: path.Clean(v.Target), ReadOnly: v.ReadOnly}
		if first, dup := targets[m.Target]; dup {
			problem(at+".target", v.Target, nil, "%q is already the target of %s: skipped", v.Target, first)
			continue
		}

		switch v.Scope {
		case labels.ScopeAbsolute:
			src, err := resolveHostPath(v.Source)
			switch {
			case err != nil:
				problem(at+".source", v.Source, err, "%q cannot be resolved: %v", v.Source, err)
				continue
			case len(allowed) == 0:
				problem(at+".source", v.Source, ErrVolumeRefused, "%q cannot be bound: the sidecar allows no host paths", v.Source)
				continue
			case !beneathAny(src, allowed):
				problem(at+".source", v.Source, ErrVolumeRefused, "%q is outside the allowed paths %v", v.Source, p.AllowedPaths)
				continue
			case overlapsAny(src, bases):
				problem(at+".source", v.Source, ErrVolumeRefused, "%q overlaps the base volume path %s, which holds every workload's instance and stage directories", v.Source, p.BaseVolumePath)
				continue
			}
			if _, err := os.Lstat(src); err != nil {
				problem(at+".source", v.Source, ErrVolumeRefused, "%q does not exist (%v): absolute volumes are never created, create it on the host first", v.Source, err)
				continue
			}
			m.Type, m.Source = MountBind, src

		case labels.ScopeEphemeral:
			m.Type = MountTmpfs

		case labels.ScopeInstance, labels.ScopeStage, labels.ScopeProject:
			if baseErr != nil {
				problem(at+".scope", v.Scope, baseErr, "%q needs the base volume path: %v", v.Scope, baseErr)
				continue
			}
			segs := append(workloadDir(w), key)
			if v.Scope == labels.ScopeInstance {
				segs = append(workloadDir(w), labels.InstancesDir, tagDir(tag), key)
			} else if strings.EqualFold(key, labels.InstancesDir) {
				problem(at, key, ErrVolumeRefused, "volume name %q is reserved for the per-tag directories of instance volumes", key)
				continue
			}
			if bad := slices.IndexFunc(segs, unsafeSegment); bad >= 0 {
				problem(at+".scope", v.Scope, ErrVolumeRefused, "%q cannot name a host directory", segs[bad])
				continue
			}
			dir := filepath.Join(append([]string{base}, segs...)...)
			// No symlink below the base: one planted by a container writing
			// to a shared directory could lead to another workload's data
			// as well as out of the base.
			if link := symlinkBelow(base, segs); link != "" {
				problem(at+".scope", v.Scope, ErrVolumeRefused, "%s is a symlink: directories below the base volume path %s must be real directories", link, p.BaseVolumePath)
				continue
			}
			m.Type, m.Source, m.CreateDir = MountBind, dir, true

		case labels.ScopeProjectNamed, labels.ScopeNamed:
			// '_' cannot occur in a workload name, so tf-<workload>_<name>
			// never collides across workloads. A named volume keeps its
			// name only when the operator allows it: otherwise it could be
			// another workload's private volume or another stack's data.
			name := v.EffectiveName(key)
			if !labels.ValidVolumeName(name) {
				problem(at+".name", v.Name, nil, "%q is not a valid Docker volume name", name)
				continue
			}
			if v.Scope == labels.ScopeProjectNamed || !slices.Contains(p.AllowedNamedVolumes, name) {
				name = volumePrefix(w) + name
			}
			m.Type, m.Source = MountVolume, name

		default:
			problem(at+".scope", v.Scope, nil, "%q is not a volume scope (one of %s)", v.Scope, strings.Join(labels.Scopes(), ", "))
			continue
		}
		targets[m.Target] = at + ".target"
		mounts = append(mounts, m)
	}
	return mounts, problems
}

// keyScopesDir is the directory below the base volume path that holds
// the directories of workloads declared under a controller key scope,
// one directory per scope. '_' cannot occur in a workload name, so it is
// never a workload's own directory.
const keyScopesDir = "_keyscopes"

// workloadDir is where w's instance, stage and project directories live,
// below the base volume path: <workload> for a workload of no key scope
// (as before key scopes existed, so existing installs keep their data),
// _keyscopes/<scope>/<workload> for one declared under a key scope. A
// controller of another scope declaring the same name later gets its own
// directories, never the first owner's data.
func workloadDir(w *labels.Workload) []string {
	if w.KeyScope == "" {
		return []string{w.Name}
	}
	return []string{keyScopesDir, w.KeyScope, w.Name}
}

// volumePrefix namespaces w's Docker volumes like workloadDir does its
// directories: tf-<workload>_ without a key scope, tfk-<scope>.<workload>_
// with one. Neither a workload name nor a scope holds '.', and workload
// names hold no '_', so no two (scope, workload, name) share a volume.
func volumePrefix(w *labels.Workload) string {
	if w.KeyScope == "" {
		return "tf-" + w.Name + "_"
	}
	return "tfk-" + w.KeyScope + "." + w.Name + "_"
}

// resolveBase checks the base volume path against the allowed paths and
// returns it resolved. The base may come from a label, so it is held to
// the same rule as an absolute source.
func resolveBase(base string, allowed []string) (string, error) {
	if base == "" {
		return "", fmt.Errorf("%w: no base volume path is configured (%s.settings.baseVolumePath)", ErrVolumeRefused, labels.Root)
	}
	resolved, err := resolveHostPath(base)
	switch {
	case err != nil:
		return "", fmt.Errorf("base volume path %q: %w", base, err)
	case !beneathAny(resolved, allowed):
		return "", fmt.Errorf("%w: base volume path %q is outside the allowed paths", ErrVolumeRefused, base)
	}
	return resolved, nil
}

// resolveAllowed returns the allowed paths both as written (cleaned) and
// with their symlinks resolved, so /srv/data → /mnt/disk/data allows both
// spellings. Relative entries allow nothing.
func resolveAllowed(paths []string) []string {
	var out []string
	for _, a := range paths {
		if !filepath.IsAbs(a) {
			continue
		}
		out = append(out, filepath.Clean(a))
		if r, err := resolveHostPath(a); err == nil && r != filepath.Clean(a) {
			out = append(out, r)
		}
	}
	return out
}

// resolveHostPath cleans an absolute host path and resolves the symlinks of
// its longest existing prefix; the rest, which does not exist yet, is
// appended as is. A dangling symlink on the way is an error: Docker would
// follow it wherever it points.
func resolveHostPath(p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%w: not an absolute path", ErrVolumeRefused)
	}
	p = filepath.Clean(p)
	existing, rest := p, ""
	for {
		_, err := os.Lstat(existing)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
	resolved, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrVolumeRefused, existing, err)
	}
	return filepath.Join(resolved, rest), nil
}

// baseSpellings are the base volume path as written (cleaned) and
// resolved, so an overlap is found whichever spelling a source uses.
func baseSpellings(raw, resolved string) []string {
	var out []string
	if filepath.IsAbs(raw) {
		out = append(out, filepath.Clean(raw))
	}
	if resolved != "" && !slices.Contains(out, resolved) {
		out = append(out, resolved)
	}
	return out
}

// overlapsAny tells whether p is one of dirs, lies inside one, or
// contains one.
func overlapsAny(p string, dirs []string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return beneath(p, d) || beneath(d, p) })
}

// symlinkBelow returns the first of base/segs[0], base/segs[0]/segs[1], ...
// that exists as a symlink, or "" when none does.
func symlinkBelow(base string, segs []string) string {
	cur := base
	for _, s := range segs {
		cur = filepath.Join(cur, s)
		fi, err := os.Lstat(cur)
		if err != nil {
			return "" // missing: created later, without following symlinks
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return cur
		}
	}
	return ""
}

// beneath tells whether p is dir or lies inside it; both are clean.
func beneath(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

func beneathAny(p string, dirs []string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return beneath(p, d) })
}

// unsafeSegment tells whether s could leave the directory it is joined to.
func unsafeSegment(s string) bool {
	return s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\`) || strings.ContainsRune(s, 0)
}

// tagDir is the directory name of a tag: the characters of the tag grammar
// are kept (so v1 and V1 stay apart), every other run becomes one '-'.
func tagDir(tag string) string {
	var b strings.Builder
	dash := false
	for _, r := range cmp.Or(tag, labels.DefaultTag) {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return b.String()
}
