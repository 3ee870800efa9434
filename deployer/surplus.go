package deployer

import (
	"slices"
	"strings"
)

// Surplus chooses the containers to remove after a deploy: the workload's
// containers newest first with the new one pinned first, and everything
// beyond keep. A failure to pick the new one would be a disaster, so it is
// never in the result.
func Surplus(containers []Container, newID string, keep int) []Container {
	keep = max(keep, 1)
	ordered := slices.Clone(containers)
	slices.SortStableFunc(ordered, func(a, b Container) int {
		switch {
		case a.ID == newID:
			return -1
		case b.ID == newID:
			return 1
		}
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name) // later names carry later timestamps
	})
	var out []Container
	for i, c := range ordered {
		if i >= keep && c.ID != newID {
			out = append(out, c)
		}
	}
	return out
}
