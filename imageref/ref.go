package imageref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Ref is an image reference in normal form.
type Ref struct {
	Host   string // canonical registry host: "docker.io", "ghcr.io", "127.0.0.1:5000"
	Path   string // repository path below the host: "library/nginx", "acme/web"
	Tag    string // "" when the reference has none
	Digest string // "" when the reference has none
}

// Parse reads a reference as Docker resolves it ("nginx" is
// docker.io/library/nginx, "host:5000/x" stays on host:5000) and puts its
// host in canonical form (see CanonicalHost). Like Docker, it refuses
// upper case in the path; the error names the reference and what is wrong
// with it.
func Parse(s string) (Ref, error) { return parse(s, s) }

// parse parses s; errors quote shown, the reference as the caller gave it.
func parse(s, shown string) (Ref, error) {
	if strings.TrimSpace(s) == "" {
		return Ref{}, errors.New("image reference is empty")
	}
	named, err := reference.ParseNormalizedNamed(foldHubAlias(s))
	if err != nil {
		return Ref{}, fmt.Errorf("image %q: %w", shown, err)
	}
	r := Ref{Host: CanonicalHost(reference.Domain(named)), Path: reference.Path(named)}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	return r, nil
}

// foldHubAlias rewrites a first component that is a Docker Hub alias to
// docker.io before parsing, so that "registry-1.docker.io/nginx" gets the
// library/ prefix "docker.io/nginx" gets.
func foldHubAlias(s string) string {
	first, rest, ok := strings.Cut(s, "/")
	if ok && CanonicalHost(first) == DockerHub {
		return DockerHub + "/" + rest
	}
	return s
}

// Repository is host/path: the name two references must share to mean the
// same image, whatever their tag or digest.
func (r Ref) Repository() string { return r.Host + "/" + r.Path }

// NameOnly reports whether the reference has neither tag nor digest.
func (r Ref) NameOnly() bool { return r.Tag == "" && r.Digest == "" }

// String is the fully qualified reference: host/path[:tag][@digest].
func (r Ref) String() string {
	s := r.Repository()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Repository returns the canonical repository of an image, tag and digest
// dropped: "nginx", "docker.io/library/nginx:1.27" and
// "index.docker.io/library/nginx" are all docker.io/library/nginx. It is
// the lenient form for matching names from different sources: surrounding
// blanks are ignored and the name is lower-cased first, since registry
// hosts and GHCR owners are case-insensitive ("ghcr.io/Owner/App" is
// ghcr.io/owner/app) and Docker refuses upper case in a path anyway.
func Repository(image string) (string, error) {
	r, err := parse(strings.ToLower(strings.TrimSpace(image)), image)
	if err != nil {
		return "", err
	}
	return r.Repository(), nil
}

// SameRepository reports whether a and b name the same repository once
// normalised by Repository; a name that does not parse matches nothing.
func SameRepository(a, b string) bool {
	ra, err := Repository(a)
	if err != nil {
		return false
	}
	rb, err := Repository(b)
	return err == nil && ra == rb
}
