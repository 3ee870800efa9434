package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Images is the --allowed-images list: registries and repository prefixes
// the sidecar may pull from. The zero value allows every image.
type Images struct {
	hosts    []string // registry hosts, lower case: any image on them
	prefixes []string // normalised repository names: that repository and those below it
	raw      []string
}

// ParseImages reads the allow-list. An entry is either a registry host
// (ghcr.io, registry.example.com:5000, localhost:5000) or a repository
// prefix (ghcr.io/acme, docker.io/library, nginx) compared on normalised
// names, so "nginx" means docker.io/library/nginx and "ghcr.io/acme"
// covers ghcr.io/acme/web but not ghcr.io/acme-evil/web. Tags and digests
// are refused: the list is about where images come from.
func ParseImages(entries []string) (Images, error) {
	var im Images
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		im.raw = append(im.raw, e)
		trimmed := strings.TrimSuffix(e, "/")
		if isHost(trimmed) {
			im.hosts = append(im.hosts, canonicalHost(trimmed))
			continue
		}
		named, err := reference.ParseNormalizedNamed(trimmed)
		if err != nil {
			return Images{}, fmt.Errorf("allowed image %q: %w", e, err)
		}
		if !reference.IsNameOnly(named) {
			return Images{}, fmt.Errorf("allowed image %q: name a registry or repository, without tag or digest", e)
		}
		im.prefixes = append(im.prefixes, normalName(named))
	}
	return im, nil
}

// isHost reports whether an entry without a path names a registry host:
// it has a dot or a port, or is localhost (the rule Docker uses for the
// first component of a reference).
func isHost(s string) bool {
	if strings.Contains(s, "/") {
		return false
	}
	return strings.ContainsAny(s, ".:") || s == "localhost" || strings.HasPrefix(s, "[")
}

// ErrImageNotAllowed: the image is outside --allowed-images.
var ErrImageNotAllowed = errors.New("not allowed by --allowed-images")

// Allows checks an image reference (with or without tag or digest).
func (im Images) Allows(ref string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("image %q: %w", ref, err)
	}
	if len(im.raw) == 0 {
		return nil
	}
	name := normalName(named)
	host := canonicalHost(reference.Domain(named))
	for _, h := range im.hosts {
		if host == h {
			return nil
		}
	}
	for _, p := range im.prefixes {
		if name == p || strings.HasPrefix(name, p+"/") {
			return nil
		}
	}
	return fmt.Errorf("image %s (%s) %w [%s]", ref, name, ErrImageNotAllowed, strings.Join(im.raw, ", "))
}

// Empty reports whether every image is allowed.
func (im Images) Empty() bool { return len(im.raw) == 0 }

// String lists the entries as given.
func (im Images) String() string { return strings.Join(im.raw, ",") }

// canonicalHost lower-cases a registry host and folds Docker Hub's
// aliases into docker.io, the domain references normalise to.
func canonicalHost(h string) string {
	h = strings.ToLower(h)
	switch h {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return h
}

// normalName is the fully qualified repository name with its host in
// canonical form: hosts are case-insensitive, paths are lower case already.
func normalName(n reference.Named) string {
	return canonicalHost(reference.Domain(n)) + "/" + reference.Path(n)
}
