package tagpolicy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Kind is what a policy compares.
type Kind int

// The policy kinds, as the label spells them.
const (
	// All lets every tag deploy (the tags filter still applies): today's
	// behaviour and the default.
	All Kind = iota
	// Semver lets any newer version deploy.
	Semver
	// SemverMinor lets newer versions of the serving major deploy.
	SemverMinor
	// SemverPatch lets newer versions of the serving major.minor deploy.
	SemverPatch
	// Range lets newer versions within a semver range deploy.
	Range
)

// Keywords of the policy label, by kind; a range is anything else.
var keywords = map[string]Kind{"all": All, "semver": Semver, "semver-minor": SemverMinor, "semver-patch": SemverPatch}

// Names lists the policy keywords, for messages and documentation.
const Names = "all, semver, semver-minor, semver-patch"

// Policy is a parsed policy label. The zero value is All.
type Policy struct {
	kind       Kind
	text       string // as written; "all" when empty
	rng        *semver.Constraints
	prerelease bool
}

// Parse parses a policy label: "" or "all", "semver", "semver-minor",
// "semver-patch", or a semver range (">=1.4 <2", "~1.4", "^2", "1.x").
// prerelease lets a semver policy deploy pre-release versions; a policy
// of all has none to let through, so it refuses prerelease.
func Parse(text string, prerelease bool) (Policy, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		text = "all"
	}
	if kind, ok := keywords[text]; ok {
		if kind == All && prerelease {
			return Policy{}, errors.New("policy all deploys every tag already: prerelease applies only to semver, semver-minor, semver-patch or a range")
		}
		return Policy{kind: kind, text: text, prerelease: prerelease}, nil
	}
	if kind, ok := keywords[strings.ToLower(text)]; ok {
		return Policy{}, fmt.Errorf("%q is not a policy: write it in lowercase, %q", text, keywordOf(kind))
	}
	rng, err := semver.NewConstraint(text)
	if err != nil {
		return Policy{}, fmt.Errorf("%q is not a policy: use one of %s, or a semver range such as \">=1.4 <2\" (as a range: %v)", text, Names, err)
	}
	rng.IncludePrerelease = prerelease
	return Policy{kind: Range, text: text, rng: rng, prerelease: prerelease}, nil
}

func keywordOf(k Kind) string {
	for word, kind := range keywords {
		if kind == k {
			return word
		}
	}
	return ""
}

// Kind is what the policy compares.
func (p Policy) Kind() Kind { return p.kind }

// Versioned reports whether the policy compares semver versions, so a
// poller must list the registry's tags to find the newest one rather than
// watch a single tag.
func (p Policy) Versioned() bool { return p.kind != All }

// String is the policy as written, "all" for the default.
func (p Policy) String() string {
	if p.text == "" {
		return "all"
	}
	return p.text
}

// version parses a tag as a full semver version, with an optional "v"
// prefix; ok is false for every other tag.
func version(tag string) (*semver.Version, bool) {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	return v, err == nil
}
