package deployer

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// HostClaims records which workload owns each public host name. A host
// belongs to the first workload that claims it until that workload
// releases it; redisstore implements it with one atomic script per call.
type HostClaims interface {
	// ClaimHosts claims every host no workload owns for workload, in one
	// atomic step, and returns the owner of each host afterwards.
	ClaimHosts(ctx context.Context, workload string, hosts []string) (map[string]string, error)
	// ReleaseHosts drops workload's claim on every host it owns that is
	// not in keep (nil keep: all of them).
	ReleaseHosts(ctx context.Context, workload string, keep []string) error
	// HostOwners returns every claim: host -> workload.
	HostOwners(ctx context.Context) (map[string]string, error)
}

// HostConflict is a face refused because its host belongs to another
// workload (or is reserved), as logs and GET /v1/workloads report it.
type HostConflict struct {
	Face  string `json:"face"`
	Host  string `json:"host"`
	Owner string `json:"owner"` // the workload that owns the host, or why it is reserved
}

func (c HostConflict) String() string {
	return fmt.Sprintf("face %s: host %s belongs to %s", c.Face, c.Host, c.Owner)
}

// hostKey is how a host name is claimed: DNS names are case-insensitive.
func hostKey(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }

// faceHosts maps the host of every enabled face of w to its face.
func faceHosts(w *labels.Workload, domain string) map[string]string {
	out := map[string]string{}
	for name, f := range w.Faces {
		if f.Enabled() {
			out[hostKey(f.Host(domain))] = name
		}
	}
	return out
}

// refusedFaces claims the hosts of w's faces and returns the faces whose
// host another workload owns or the sidecar reserves, by face name. It is
// called before anything is written to the proxy, so a refused face never
// touches the owner's route. Without HostClaims nothing is refused.
func (e *Engine) refusedFaces(ctx context.Context, w *labels.Workload, domain string) (map[string]HostConflict, error) {
	if e.Hosts == nil {
		return nil, nil
	}
	hosts := faceHosts(w, domain)
	refused := map[string]HostConflict{}
	var claim []string
	for _, h := range slices.Sorted(maps.Keys(hosts)) {
		if why, ok := e.reserved(h); ok {
			refused[hosts[h]] = HostConflict{Face: hosts[h], Host: h, Owner: why}
			continue
		}
		claim = append(claim, h)
	}
	if len(claim) > 0 {
		owners, err := e.Hosts.ClaimHosts(ctx, w.Name, claim)
		if err != nil {
			return nil, fmt.Errorf("claim hosts of %s: %w", w.Name, err)
		}
		for _, h := range claim {
			if owner := owners[h]; owner != w.Name {
				refused[hosts[h]] = HostConflict{Face: hosts[h], Host: h, Owner: "workload " + owner}
			}
		}
	}
	e.conflicts.set(w.Name, refused, e)
	return refused, nil
}

// reserved tells whether the (claim-normalised) host h is reserved, and
// why; ReservedHosts may spell a host in any case.
func (e *Engine) reserved(h string) (string, bool) {
	for host, why := range e.ReservedHosts {
		if hostKey(host) == h {
			return why, true
		}
	}
	return "", false
}

// HostTable is who owns each host name, as GET /v1/hosts answers it for
// `tinyforge labels check --sidecar`: the claims, and the reserved hosts
// with why. Host names are lower case, without a final dot.
type HostTable struct {
	Owners   map[string]string `json:"owners"`
	Reserved map[string]string `json:"reserved"`
	// Domain is the sidecar's --domain, the domain of faces whose
	// controller sets none.
	Domain string `json:"domain"`
}

// HostTable reads the host claims (none without HostClaims) and the
// reserved hosts.
func (e *Engine) HostTable(ctx context.Context) (HostTable, error) {
	t := HostTable{Owners: map[string]string{}, Reserved: map[string]string{}, Domain: e.Domain}
	for host, why := range e.ReservedHosts {
		t.Reserved[hostKey(host)] = why
	}
	if e.Hosts == nil {
		return t, nil
	}
	owners, err := e.Hosts.HostOwners(ctx)
	if err != nil {
		return HostTable{}, fmt.Errorf("read host claims: %w", err)
	}
	maps.Copy(t.Owners, owners)
	return t, nil
}

// withoutRefused drops the routes of refused faces.
func withoutRefused(routes []Route, refused map[string]HostConflict) []Route {
	if len(refused) == 0 {
		return routes
	}
	return slices.DeleteFunc(routes, func(r Route) bool { _, ok := refused[r.Face]; return ok })
}

// releaseHosts gives up workload's claims on hosts its routes no longer
// serve; a failure is logged, never fatal: the claim just stays.
func (e *Engine) releaseHosts(ctx context.Context, workload string, routes []Route) {
	if e.Hosts == nil {
		return
	}
	keep := make([]string, 0, len(routes))
	for _, r := range routes {
		keep = append(keep, hostKey(r.Host))
	}
	if err := e.Hosts.ReleaseHosts(ctx, workload, keep); err != nil {
		e.Log.Warn().Err(err).Str(logkey.Workload, workload).Msg("release host claims")
	}
}

// releaseFailedClaims gives back, after a deploy failed before its routes
// went live, every host claim of the workload that its stored routes do
// not serve: a first deploy that never served (a typo'd image, an
// unhealthy container) does not keep its hosts from the workload that
// meant them. Hosts the workload still serves stay claimed. A deploy that
// claimed nothing (refused before admit finished) releases nothing, and
// so does one whose routes cannot be read.
func (d *deploy) releaseFailedClaims(ctx context.Context) {
	if d.Hosts == nil || !d.claimed {
		return
	}
	routes, err := d.Store.Routes(ctx, d.w.Name)
	if err != nil {
		d.log.Warn().Err(err).Msg("read routes to release the failed deploy's host claims: they stay")
		return
	}
	d.releaseHosts(ctx, d.w.Name, routes)
}

// reclaimHosts rebuilds lost host claims (Redis flushed) from the signed
// containers' tinyforge.hosts labels, oldest container first, before any
// route is rebuilt: a host goes back to the workload that was granted it,
// not to whichever workload's routes happen to be rebuilt first. A
// declared workload claims only the hosts its faces still ask for.
func (e *Engine) reclaimHosts(ctx context.Context, containers []Container, declared map[string]*labels.Workload) error {
	if e.Hosts == nil {
		return nil
	}
	owners, err := e.Hosts.HostOwners(ctx)
	if err != nil {
		return fmt.Errorf("read host claims: %w", err)
	}
	cs := slices.Clone(containers)
	slices.SortStableFunc(cs, func(a, b Container) int { return a.Created.Compare(b.Created) })
	for _, c := range cs {
		name := c.Labels[labels.ManagedWorkload]
		var missing []string
		for h := range strings.SplitSeq(c.Labels[labels.ManagedHosts], ",") {
			if h = hostKey(h); h == "" || owners[h] != "" {
				continue
			}
			if w := declared[name]; w != nil {
				if _, wanted := faceHosts(w, cmp.Or(w.Settings.Domain, e.Domain))[h]; !wanted {
					continue
				}
			}
			missing = append(missing, h)
		}
		if len(missing) == 0 {
			continue
		}
		got, err := e.Hosts.ClaimHosts(ctx, name, missing)
		if err != nil {
			return fmt.Errorf("reclaim hosts of %s: %w", name, err)
		}
		maps.Copy(owners, got)
		e.Log.Info().Str(logkey.Workload, name).Strs("hosts", missing).Str(logkey.Container, c.Name).Msg("host claims rebuilt from a signed container")
	}
	return nil
}

// grantedHosts is the tinyforge.hosts label of a new container: the hosts
// of its routes, sorted.
func grantedHosts(routes []Route) string {
	hosts := make([]string, 0, len(routes))
	for _, r := range routes {
		hosts = append(hosts, hostKey(r.Host))
	}
	slices.Sort(hosts)
	return strings.Join(slices.Compact(hosts), ",")
}

// HostConflicts returns the faces refused at each workload's last claim,
// by workload (nil for a nil engine).
func (e *Engine) HostConflicts() map[string][]HostConflict {
	if e == nil {
		return nil
	}
	return e.conflicts.all()
}

// hostConflicts remembers the refused faces of each workload's last claim.
type hostConflicts struct {
	mu sync.Mutex
	by map[string][]HostConflict
}

// set records workload's refused faces and logs the new ones.
func (h *hostConflicts) set(workload string, refused map[string]HostConflict, e *Engine) {
	if h == nil {
		return
	}
	list := slices.SortedFunc(maps.Values(refused), func(a, b HostConflict) int { return strings.Compare(a.Face, b.Face) })
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by == nil {
		h.by = map[string][]HostConflict{}
	}
	for _, c := range list {
		if !slices.Contains(h.by[workload], c) {
			e.Log.Warn().Str(logkey.Workload, workload).Str(logkey.Face, c.Face).Str(logkey.Host, c.Host).Str("owner", c.Owner).
				Msg("face refused: its host belongs to another workload; the owner's route is left alone")
		}
	}
	if len(list) == 0 {
		delete(h.by, workload)
		return
	}
	h.by[workload] = list
}

func (h *hostConflicts) all() map[string][]HostConflict {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.by)
}
