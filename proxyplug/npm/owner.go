package npm

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/tinyforge/tinyforge/deployer"
)

// ErrNotOurs is returned when a domain is served by a proxy host the
// sidecar did not create for this route: one made by hand (no mark) or
// one marked for another route. The plugin never changes such a host.
var ErrNotOurs = errors.New("proxy host not created by tinyforge for this route")

// owns tells whether the mark on a proxy host (meta.tinyforge_route) names
// route r: its id, or the id its workload and face had before route ids
// were injective (so hosts written by an earlier version are migrated in
// place rather than refused). An empty mark is a host made by hand.
func owns(mark string, r deployer.Route) bool {
	switch {
	case mark == "":
		return false
	case mark == r.ID:
		return true
	case r.Workload == "":
		return false
	}
	return mark == deployer.RouteID(r.Workload, r.Face) || mark == deployer.LegacyRouteID(r.Workload, r.Face)
}

// checkOwner refuses a host r may not take: unmarked or marked for
// another route.
func checkOwner(h host, r deployer.Route) error {
	mark, _ := h.Meta[metaRoute].(string)
	switch {
	case mark == "":
		return fmt.Errorf("proxy host %d serving %s was not created by tinyforge (no meta.%s mark): %w; remove it or give the face another host", h.ID, r.Host, metaRoute, ErrNotOurs)
	case !owns(mark, r):
		return fmt.Errorf("proxy host %d serving %s belongs to tinyforge route %s, not %s: %w", h.ID, r.Host, mark, r.ID, ErrNotOurs)
	}
	return nil
}

// accessList is the NPM access list id of r's host: the operator's default
// unless the face names one, which must then be one the operator allows:
// the default itself, one of Options.AllowedAccessLists, or, when the
// default is public (0) and no list is given, any non-zero id (a face can
// only make its host stricter). A face's 0 (public) thus never overrides
// a non-zero default unless 0 is explicitly allowed.
func (p *Plugin) accessList(r deployer.Route) (int, error) {
	def := p.opts.AccessListID
	if r.AccessList == "" {
		return def, nil
	}
	id, err := strconv.Atoi(r.AccessList)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("access list %q is not an NPM access list id", r.AccessList)
	}
	allowed := p.opts.AllowedAccessLists
	switch {
	case id == def, slices.Contains(allowed, id):
		return id, nil
	case def == 0 && len(allowed) == 0 && id != 0:
		return id, nil
	}
	return 0, fmt.Errorf("access list %d of face %s is not allowed: the operator's default is %d and the allowed lists are %v (--npm-allowed-access-lists)", id, r.Face, def, allowed)
}
