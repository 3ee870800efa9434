// Package tagpolicy decides which image tags a workload's `policy` label
// lets deploy: all tags, any newer semver version, newer versions within
// the serving major (semver-minor) or minor (semver-patch), or a semver
// range such as ">=1.4 <2". It is pure: it takes tag strings and returns
// decisions with reasons, and must not import Docker, Redis, the registry
// client, labels or deployer (labels imports it to validate the label).
//
// The rules, in one place:
//   - A tag is a version only when it is a full MAJOR.MINOR.PATCH semver,
//     optionally prefixed by "v" (v1.2.3, 1.2.3-rc.1). "1.2", "latest" and
//     dates are not versions, so a semver policy never deploys them.
//   - Every semver policy, ranges included, only moves forward: the
//     candidate must be newer than the serving version. When nothing
//     semver serves (first deploy, or a tag such as latest serves), there
//     is nothing to be newer than, and any version the policy allows may
//     deploy.
//   - Pre-releases (1.5.0-rc.1) are skipped unless the policy was parsed
//     with prerelease set, or a range names a pre-release itself
//     (">=1.5.0-rc.0"), as npm and Cargo ranges do.
package tagpolicy
