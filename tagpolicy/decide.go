package tagpolicy

import (
	"fmt"
	"strings"
)

// Allows decides whether the tag candidate may deploy while the tag
// serving serves ("" when nothing does). When it may not, reason says
// why, naming both tags and the policy, so the ignored delivery can be
// recorded as it is.
func (p Policy) Allows(serving, candidate string) (ok bool, reason string) {
	if p.kind == All {
		return true, ""
	}
	c, isVersion := version(candidate)
	if !isVersion {
		return false, fmt.Sprintf("tag %s is not a semver version (MAJOR.MINOR.PATCH, optionally v-prefixed), and policy %s deploys only versions", candidate, p)
	}
	if p.kind == Range {
		if !p.rng.Check(c) {
			wider := *p.rng
			wider.IncludePrerelease = true
			if c.Prerelease() != "" && wider.Check(c) {
				return false, fmt.Sprintf("tag %s is a pre-release, and policy %s takes pre-releases only with prerelease set or when the range names one", candidate, p)
			}
			return false, fmt.Sprintf("tag %s is outside the range %s", candidate, p)
		}
	} else if c.Prerelease() != "" && !p.prerelease {
		return false, fmt.Sprintf("tag %s is a pre-release, and policy %s takes pre-releases only with prerelease set", candidate, p)
	}

	s, servingVersion := version(serving)
	if !servingVersion {
		return true, "" // nothing semver serves: nothing to be newer than
	}
	switch {
	case c.Equal(s):
		return false, fmt.Sprintf("tag %s is the serving version %s (policy %s deploys only newer versions)", candidate, serving, p)
	case !c.GreaterThan(s):
		return false, fmt.Sprintf("tag %s is older than the serving %s (policy %s deploys only newer versions)", candidate, serving, p)
	case p.kind == SemverMinor && c.Major() != s.Major():
		return false, fmt.Sprintf("tag %s changes the major version of the serving %s (policy %s stays within major %d)", candidate, serving, p, s.Major())
	case p.kind == SemverPatch && (c.Major() != s.Major() || c.Minor() != s.Minor()):
		return false, fmt.Sprintf("tag %s changes the minor version of the serving %s (policy %s stays within %d.%d)", candidate, serving, p, s.Major(), s.Minor())
	}
	return true, ""
}

// Newest picks, from a registry's tag list, the newest tag Allows lets
// replace serving; ok is false when there is none. Two spellings of one
// version (v1.2.3 and 1.2.3) tie, and the one sorting first wins, so the
// answer does not depend on the list's order. Under policy all no tag is
// newer than another, so Newest returns none: a poller of such a workload
// watches its one tag instead.
func (p Policy) Newest(serving string, tags []string) (tag string, ok bool) {
	if p.kind == All {
		return "", false
	}
	for _, t := range tags {
		if allowed, _ := p.Allows(serving, t); !allowed {
			continue
		}
		if !ok || newer(t, tag) {
			tag, ok = t, true
		}
	}
	return tag, ok
}

// newer orders two version tags: by version, then by spelling.
func newer(a, b string) bool {
	va, _ := version(a)
	vb, _ := version(b)
	if c := va.Compare(vb); c != 0 {
		return c > 0
	}
	return strings.Compare(a, b) < 0
}
