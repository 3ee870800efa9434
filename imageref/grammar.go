package imageref

import (
	"regexp"
	"strings"
)

// TagRule describes the tag grammar, for error messages.
const TagRule = "up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"

// RepositoryRule describes the repository grammar, for error messages.
const RepositoryRule = "[host[:port]/]path, path components in lowercase letters, digits and . _ -"

// tagPattern is Docker's tag grammar (distribution/reference).
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidTag reports whether s is a tag Docker accepts (see TagRule).
func ValidTag(s string) bool { return tagPattern.MatchString(s) }

// digestPattern is the digest grammar registries accept: a SHA-2
// algorithm and its hash in lower-case hex, of that hash's length.
var digestPattern = regexp.MustCompile(`^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$`)

// ValidDigest reports whether s is a content digest a registry accepts:
// "sha256:" and 64 lower-case hex digits (or sha384/sha512 of their
// length).
func ValidDigest(s string) bool { return digestPattern.MatchString(s) }

// LooksLikeDigest reports whether s starts like a digest ("sha256:",
// "sha512:", any case), as registries report the per-platform manifests of
// a multi-arch push in the place of a tag. It does not check the rest.
func LooksLikeDigest(s string) bool {
	s = strings.ToLower(s)
	return strings.HasPrefix(s, "sha256:") || strings.HasPrefix(s, "sha512:")
}
