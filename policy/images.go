package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tinyforge/tinyforge/imageref"
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
		if imageref.IsHost(trimmed) {
			im.hosts = append(im.hosts, imageref.CanonicalHost(trimmed))
			continue
		}
		ref, err := imageref.Parse(trimmed)
		if err != nil {
			return Images{}, fmt.Errorf("allowed images: %w", err)
		}
		if !ref.NameOnly() {
			return Images{}, fmt.Errorf("allowed image %q: name a registry or repository, without tag or digest", e)
		}
		im.prefixes = append(im.prefixes, ref.Repository())
	}
	return im, nil
}

// ErrImageNotAllowed: the image is outside --allowed-images.
var ErrImageNotAllowed = errors.New("not allowed by --allowed-images")

// Allows checks an image reference (with or without tag or digest).
func (im Images) Allows(ref string) error {
	r, err := imageref.Parse(ref)
	if err != nil {
		return err
	}
	if len(im.raw) == 0 {
		return nil
	}
	name := r.Repository()
	for _, h := range im.hosts {
		if r.Host == h {
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
