package deployer

import (
	"context"
	"slices"

	"github.com/tinyforge/tinyforge/internal/logkey"
)

// Names keeps the public DNS records of faces' host names (dnsplug's
// Keeper, wired by the sidecar). It never fails a deploy: DNS trouble
// must not cost traffic, so what it cannot do now it retries on its own.
type Names interface {
	// Ensure makes the records of hosts exist and confirms them before
	// their routes go live. It returns "" when they are in place, else a
	// note for the deploy's history saying which are not and why.
	Ensure(ctx context.Context, workload string, hosts []string) (note string)
	// Drop removes the records of hosts the workload no longer routes.
	Drop(ctx context.Context, workload string, hosts []string)
	// Teardown removes the records of hosts and any other held for the
	// workload.
	Teardown(ctx context.Context, workload string, hosts []string)
}

// StepDNS is journaled in the steps (not as a journal step of its own)
// just before the switch: how long the records took, and a note when one
// is not in place.
const StepDNS = "dns"

// dnsHosts is the host of every route whose face keeps a DNS record
// (faces.<f>.dns is not false), without repeats.
func (d *deploy) dnsHosts(routes []Route) []string {
	var hosts []string
	for _, r := range routes {
		if f := d.w.Faces[r.Face]; f != nil && f.WantsDNS() && !slices.Contains(hosts, r.Host) {
			hosts = append(hosts, r.Host)
		}
	}
	return hosts
}

// ensureNames makes the records of routes' hosts exist before they go
// live, and adds a StepDNS entry (its time, and the note when a record is
// not in place) to the deploy's steps. Without Names it does nothing.
func (d *deploy) ensureNames(ctx context.Context, routes []Route) {
	hosts := d.dnsHosts(routes)
	if d.Names == nil || len(hosts) == 0 {
		return
	}
	note := d.Names.Ensure(ctx, d.w.Name, hosts)
	now := d.Now()
	d.j.Steps = append(d.j.Steps, StepTime{Step: StepDNS, At: now.UTC(), Took: now.Sub(d.stepAt), Note: note})
	d.stepAt = now
	d.stepped()
	if note != "" {
		d.log.Warn().Strs(logkey.Host, hosts).Str("note", note).Msg("dns records not in place: the routes go live on the names that resolve")
	}
}

// dropNames removes the records of hosts previous routes served that the
// new ones do not keep (a face removed, or opted out with dns=false).
func (d *deploy) dropNames(ctx context.Context, previous, routes []Route) {
	if d.Names == nil {
		return
	}
	keep := d.dnsHosts(routes)
	var gone []string
	for _, r := range previous {
		if !slices.Contains(keep, r.Host) && !slices.Contains(gone, r.Host) {
			gone = append(gone, r.Host)
		}
	}
	if len(gone) > 0 {
		d.Names.Drop(ctx, d.w.Name, gone)
	}
}

// teardownNames removes the records of a torn-down workload: those of the
// routes removed, and, when every route was, all it holds.
func (e *Engine) teardownNames(ctx context.Context, workload string, removed []Route, all bool) {
	if e.Names == nil {
		return
	}
	var hosts []string
	for _, r := range removed {
		hosts = append(hosts, r.Host)
	}
	if all {
		e.Names.Teardown(ctx, workload, hosts)
	} else if len(hosts) > 0 {
		e.Names.Drop(ctx, workload, hosts)
	}
}
