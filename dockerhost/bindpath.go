package dockerhost

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrBindSource: a bind source goes through a symlink, is missing, or is
// not what it must be. Create refuses the container.
var ErrBindSource = errors.New("bind source refused")

// prepareBind walks src from / one component at a time, opening each with
// O_NOFOLLOW, so no symlink anywhere on the path is followed: a symlink
// component is refused, whatever it points at. With create, missing
// directories are made (mkdirat in the directory just opened, never
// through a path a symlink could redirect) and src must end as a
// directory: tinyforge's own instance, stage and project directories.
// Without create, a missing component is refused: a user's absolute
// source is never created. src must be clean and absolute: the deployer
// resolved it, so a symlink found here was planted after that check.
func prepareBind(src string, create bool) error {
	if !filepath.IsAbs(src) || filepath.Clean(src) != src {
		return fmt.Errorf("%w: %q is not a clean absolute path", ErrBindSource, src)
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%w: open /: %w", ErrBindSource, err)
	}
	defer func() { _ = unix.Close(fd) }()
	parts := strings.Split(strings.TrimPrefix(src, "/"), "/")
	at := ""
	for i, name := range parts {
		if name == "" {
			continue // src is "/"
		}
		at += "/" + name
		last := i == len(parts)-1
		next, err := openNoFollow(fd, name)
		if errors.Is(err, unix.ENOENT) && create {
			if err := unix.Mkdirat(fd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("%w: create %s: %w", ErrBindSource, at, err)
			}
			next, err = openNoFollow(fd, name)
		}
		switch {
		case errors.Is(err, unix.ENOENT):
			return fmt.Errorf("%w: %s does not exist (absolute volumes are never created)", ErrBindSource, at)
		case err != nil:
			return fmt.Errorf("%w: open %s: %w", ErrBindSource, at, err)
		}
		_ = unix.Close(fd)
		fd = next
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("%w: stat %s: %w", ErrBindSource, at, err)
		}
		switch mode := st.Mode & unix.S_IFMT; {
		case mode == unix.S_IFLNK:
			return fmt.Errorf("%w: %s is a symlink, which is never followed", ErrBindSource, at)
		case mode != unix.S_IFDIR && (!last || create):
			return fmt.Errorf("%w: %s is not a directory", ErrBindSource, at)
		}
	}
	return nil
}

// openNoFollow opens name in the directory dirfd without following it if
// it is a symlink (O_PATH|O_NOFOLLOW then yields the link itself, which
// the caller refuses after fstat).
func openNoFollow(dirfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
