package tagpolicy

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		text       string
		prerelease bool
		kind       Kind
		str        string
		err        string // substring of the error; "" for none
	}{
		{text: "", kind: All, str: "all"},
		{text: "all", kind: All, str: "all"},
		{text: "semver", kind: Semver, str: "semver"},
		{text: " semver-minor ", kind: SemverMinor, str: "semver-minor"},
		{text: "semver-patch", prerelease: true, kind: SemverPatch, str: "semver-patch"},
		{text: ">=1.4 <2", kind: Range, str: ">=1.4 <2"},
		{text: "~1.4", kind: Range, str: "~1.4"},
		{text: "^2 || >=3.1", kind: Range, str: "^2 || >=3.1"},
		{text: ">=v1.4.0", kind: Range, str: ">=v1.4.0"},
		{text: "all", prerelease: true, err: "prerelease applies only to semver"},
		{text: "Semver", err: `"Semver" is not a policy: write it in lowercase, "semver"`},
		{text: "semver-mjor", err: `"semver-mjor" is not a policy: use one of all, semver, semver-minor, semver-patch, or a semver range`},
		{text: "latest", err: `"latest" is not a policy`},
		{text: ">=1.4 <", err: `">=1.4 <" is not a policy`},
		{text: "newest", err: `"newest" is not a policy`},
	} {
		p, err := Parse(tc.text, tc.prerelease)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q, %v) error %v, want %q", tc.text, tc.prerelease, err, tc.err)
			}
			continue
		}
		if err != nil || p.Kind() != tc.kind || p.String() != tc.str || p.Versioned() != (tc.kind != All) {
			t.Errorf("Parse(%q) = kind %v %q, %v; want kind %v %q", tc.text, p.Kind(), p, err, tc.kind, tc.str)
		}
	}
	if (Policy{}).String() != "all" || (Policy{}).Versioned() {
		t.Error("the zero Policy must be all")
	}
}

func TestAllows(t *testing.T) {
	for _, tc := range []struct {
		policy     string
		prerelease bool
		serving    string
		candidate  string
		reason     string // "" when allowed, else a substring of the reason
	}{
		// all: every tag, older or not a version at all.
		{policy: "all", serving: "v2.0.0", candidate: "v1.0.0"},
		{policy: "", serving: "v1.0.0", candidate: "latest"},
		{policy: "all", serving: "", candidate: "1.0.0-rc.1"},

		// semver: any newer version, v prefix or not.
		{policy: "semver", serving: "v1.2.3", candidate: "v1.2.4"},
		{policy: "semver", serving: "v1.2.3", candidate: "2.0.0"},
		{policy: "semver", serving: "1.2.3", candidate: "v1.10.0"},
		{policy: "semver", serving: "v1.2.3", candidate: "v1.2.2", reason: "tag v1.2.2 is older than the serving v1.2.3 (policy semver deploys only newer versions)"},
		{policy: "semver", serving: "v1.2.3", candidate: "1.2.3", reason: "tag 1.2.3 is the serving version v1.2.3"},
		{policy: "semver", serving: "v1.2.3", candidate: "v1.2.3", reason: "is the serving version"},
		{policy: "semver", serving: "v1.10.0", candidate: "v1.9.0", reason: "older than the serving v1.10.0"},
		// Tags that are no full version never deploy under a semver policy.
		{policy: "semver", serving: "v1.2.3", candidate: "latest", reason: "tag latest is not a semver version (MAJOR.MINOR.PATCH, optionally v-prefixed), and policy semver deploys only versions"},
		{policy: "semver", serving: "v1.2.3", candidate: "v1.3", reason: "not a semver version"},
		{policy: "semver", serving: "", candidate: "20240101", reason: "not a semver version"},
		{policy: "semver", serving: "", candidate: "V1.2.3", reason: "not a semver version"},
		{policy: "semver", serving: "", candidate: "vv1.2.3", reason: "not a semver version"},
		{policy: "semver", serving: "", candidate: "01.2.3", reason: "not a semver version"},
		// Nothing semver serves: any version may deploy.
		{policy: "semver", serving: "", candidate: "v0.0.1"},
		{policy: "semver", serving: "latest", candidate: "v0.0.1"},
		{policy: "semver-patch", serving: "stable", candidate: "v9.9.9"},
		// Pre-releases only with prerelease set.
		{policy: "semver", serving: "v1.2.3", candidate: "v1.3.0-rc.1", reason: "tag v1.3.0-rc.1 is a pre-release, and policy semver takes pre-releases only with prerelease set"},
		{policy: "semver", serving: "", candidate: "v1.3.0-rc.1", reason: "is a pre-release"},
		{policy: "semver", prerelease: true, serving: "v1.2.3", candidate: "v1.3.0-rc.1"},
		{policy: "semver", prerelease: true, serving: "v1.3.0-rc.1", candidate: "v1.3.0-rc.2"},
		{policy: "semver", prerelease: true, serving: "v1.3.0-rc.2", candidate: "v1.3.0-rc.10"},
		{policy: "semver", prerelease: true, serving: "v1.3.0", candidate: "v1.3.0-rc.2", reason: "older than the serving v1.3.0"},
		{policy: "semver", serving: "v1.3.0-rc.1", candidate: "v1.3.0"},

		// semver-minor: newer, same major.
		{policy: "semver-minor", serving: "v1.2.3", candidate: "v1.9.0"},
		{policy: "semver-minor", serving: "v1.2.3", candidate: "v1.2.4"},
		{policy: "semver-minor", serving: "v1.2.3", candidate: "v2.0.0", reason: "tag v2.0.0 changes the major version of the serving v1.2.3 (policy semver-minor stays within major 1)"},
		{policy: "semver-minor", serving: "v1.2.3", candidate: "v1.1.0", reason: "older"},
		{policy: "semver-minor", serving: "v0.2.3", candidate: "v0.3.0"},

		// semver-patch: newer, same major.minor.
		{policy: "semver-patch", serving: "v1.2.3", candidate: "v1.2.10"},
		{policy: "semver-patch", serving: "v1.2.3", candidate: "v1.3.0", reason: "tag v1.3.0 changes the minor version of the serving v1.2.3 (policy semver-patch stays within 1.2)"},
		{policy: "semver-patch", serving: "v1.2.3", candidate: "v2.2.4", reason: "changes the minor version"},
		{policy: "semver-patch", prerelease: true, serving: "v1.2.3", candidate: "v1.2.4-beta.1"},

		// Ranges: inside the range and newer.
		{policy: ">=1.4 <2", serving: "v1.4.0", candidate: "v1.9.9"},
		{policy: ">=1.4 <2", serving: "", candidate: "1.4.0"},
		{policy: ">=1.4 <2", serving: "v1.4.0", candidate: "v2.0.0", reason: "tag v2.0.0 is outside the range >=1.4 <2"},
		{policy: ">=1.4 <2", serving: "", candidate: "v1.3.9", reason: "outside the range"},
		{policy: ">=1.4 <2", serving: "v1.6.0", candidate: "v1.5.0", reason: "older than the serving v1.6.0 (policy >=1.4 <2"},
		{policy: ">=1.4 <2", serving: "v1.6.0", candidate: "latest", reason: "not a semver version"},
		{policy: ">=1.4 <2", serving: "v1.4.0", candidate: "v1.5.0-rc.1", reason: "tag v1.5.0-rc.1 is a pre-release, and policy >=1.4 <2 takes pre-releases only with prerelease set or when the range names one"},
		{policy: ">=1.4 <2", prerelease: true, serving: "v1.4.0", candidate: "v1.5.0-rc.1"},
		{policy: ">=1.5.0-rc.0 <2", serving: "v1.4.0", candidate: "v1.5.0-rc.1"},
		{policy: "~1.4", serving: "v1.4.0", candidate: "v1.4.7"},
		{policy: "~1.4", serving: "v1.4.0", candidate: "v1.5.0", reason: "outside the range ~1.4"},
		{policy: "^1.4", serving: "v1.4.0", candidate: "v1.9.0"},
		{policy: "1.x", serving: "v1.4.0", candidate: "v2.0.0", reason: "outside the range"},
	} {
		p, err := Parse(tc.policy, tc.prerelease)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.policy, err)
		}
		ok, reason := p.Allows(tc.serving, tc.candidate)
		switch {
		case tc.reason == "" && (!ok || reason != ""):
			t.Errorf("policy %q (prerelease %v): Allows(%q, %q) = false, %q; want allowed", tc.policy, tc.prerelease, tc.serving, tc.candidate, reason)
		case tc.reason != "" && (ok || !strings.Contains(reason, tc.reason)):
			t.Errorf("policy %q (prerelease %v): Allows(%q, %q) = %v, %q; want refused with %q", tc.policy, tc.prerelease, tc.serving, tc.candidate, ok, reason, tc.reason)
		}
	}
}

func TestNewest(t *testing.T) {
	tags := []string{"latest", "v1.2.3", "v1.2.10", "1.3.0", "v1.4.0-rc.1", "v2.0.0", "v2.1.0-beta", "stable", "v1.3", "1.2.10"}
	for _, tc := range []struct {
		policy     string
		prerelease bool
		serving    string
		tags       []string
		want       string // "" when none
	}{
		{policy: "semver", serving: "", want: "v2.0.0"},
		{policy: "semver", serving: "latest", want: "v2.0.0"},
		{policy: "semver", prerelease: true, serving: "v1.2.3", want: "v2.1.0-beta"},
		{policy: "semver-minor", serving: "v1.2.3", want: "1.3.0"},
		{policy: "semver-minor", prerelease: true, serving: "v1.2.3", want: "v1.4.0-rc.1"},
		// Two spellings of 1.2.10: the one sorting first wins, whatever the order.
		{policy: "semver-patch", serving: "v1.2.3", want: "1.2.10"},
		{policy: "semver-patch", serving: "v1.2.3", tags: []string{"v1.2.10", "1.2.10"}, want: "1.2.10"},
		{policy: "semver-patch", serving: "v1.2.10", want: ""},
		{policy: ">=1.2 <1.3", serving: "", want: "1.2.10"},
		{policy: ">=3", serving: "", want: ""},
		{policy: "semver", serving: "v2.0.0", want: ""},
		{policy: "all", serving: "v1.2.3", want: ""},
		{policy: "semver", serving: "", tags: []string{}, want: ""},
	} {
		p, err := Parse(tc.policy, tc.prerelease)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.policy, err)
		}
		in := tags
		if tc.tags != nil {
			in = tc.tags
		}
		got, ok := p.Newest(tc.serving, in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("policy %q (prerelease %v): Newest(%q) = %q, %v; want %q", tc.policy, tc.prerelease, tc.serving, got, ok, tc.want)
		}
	}
}
