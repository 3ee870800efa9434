package webhook

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Repository returns the canonical name of an image repository, resolved
// the way Docker resolves it: "nginx", "docker.io/library/nginx" and
// "index.docker.io/library/nginx" are all docker.io/library/nginx, and
// "host:5000/x" stays on host:5000. Registry hosts and GHCR owners are
// case-insensitive, and Docker refuses upper case in a repository anyway,
// so the name is lowercased first ("ghcr.io/Owner/App" is
// ghcr.io/owner/app). A tag or digest is dropped.
func Repository(image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(strings.ToLower(strings.TrimSpace(image)))
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	return reference.TrimNamed(named).Name(), nil
}

// SameRepository reports whether a and b name the same repository once
// normalised; a name that does not parse matches nothing.
func SameRepository(a, b string) bool {
	ra, err := Repository(a)
	if err != nil {
		return false
	}
	rb, err := Repository(b)
	return err == nil && ra == rb
}
