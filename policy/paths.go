package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Paths is a list of host directories bind mounts must stay beneath
// (--allowed-volume-paths). Each root is resolved when parsed, so a
// symlinked root compares by its target. The zero value allows nothing.
type Paths struct {
	roots []string
}

// ParsePaths resolves each root. A root must be absolute and must exist as
// the sidecar sees it: symlinks can only be resolved where they are
// visible, so a sidecar in a container must have the allowed roots
// mounted at the same paths.
func ParsePaths(list []string) (Paths, error) {
	var p Paths
	for _, raw := range list {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if !filepath.IsAbs(raw) {
			return Paths{}, fmt.Errorf("allowed volume path %q: not absolute", raw)
		}
		resolved, err := filepath.EvalSymlinks(filepath.Clean(raw))
		if err != nil {
			return Paths{}, fmt.Errorf("allowed volume path %q: %w (a sidecar in a container needs it mounted at the same path)", raw, err)
		}
		if resolved == "/" {
			return Paths{}, fmt.Errorf("allowed volume path %q: resolves to /, which allows everything", raw)
		}
		p.roots = append(p.roots, resolved)
	}
	return p, nil
}

// Roots returns the resolved roots.
func (p Paths) Roots() []string { return append([]string(nil), p.roots...) }

// ErrPathNotAllowed: a bind source lies outside every allowed root.
var ErrPathNotAllowed = errors.New("outside --allowed-volume-paths")

// Check resolves a bind source (".." and symlinks, including symlinks in
// the part that exists when the rest does not yet) and returns the
// resolved path when it lies beneath one of the roots.
func (p Paths) Check(source string) (string, error) {
	if !filepath.IsAbs(source) {
		return "", fmt.Errorf("bind source %q: not absolute", source)
	}
	resolved, err := Resolve(source)
	if err != nil {
		return "", fmt.Errorf("bind source %q: %w", source, err)
	}
	for _, r := range p.roots {
		if resolved == r || strings.HasPrefix(resolved, r+string(filepath.Separator)) {
			return resolved, nil
		}
	}
	if len(p.roots) == 0 {
		return "", fmt.Errorf("bind source %q: %w (none configured: host binds are refused)", source, ErrPathNotAllowed)
	}
	if resolved != filepath.Clean(source) {
		source = fmt.Sprintf("%s (resolves to %s)", source, resolved)
	} else {
		source = strconv.Quote(source)
	}
	return "", fmt.Errorf("bind source %s: %w [%s]", source, ErrPathNotAllowed, strings.Join(p.roots, ", "))
}

// Resolve returns path with ".." and every symlink resolved. Where the
// path does not exist yet (Docker creates missing bind sources), the
// longest existing ancestor is resolved and the rest appended.
func Resolve(path string) (string, error) {
	clean := filepath.Clean(path)
	missing := ""
	cur := clean
	for {
		resolved, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(resolved, missing), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return "", err
		}
		// A dangling symlink is not "missing": it points somewhere.
		if fi, lerr := os.Lstat(cur); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("%s is a dangling symlink", cur)
		}
		missing = filepath.Join(filepath.Base(cur), missing)
		cur = parent
	}
}
