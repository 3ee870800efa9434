// Package overview is the shape of what a sidecar reports about its
// workloads: GET /v1/workloads encodes it, the status page (ui) renders
// it and `tinyforge status` decodes it, so the three always agree. It
// holds types and the small readings of them every reader needs (what
// serves, a route's URL, the last outcome); it decides nothing and does no
// I/O. It must not import sidecar, ui, client or any adapter (poller
// only for its Status type).
package overview

import (
	"strconv"
	"time"

	"github.com/tinyforge/tinyforge/controllers"
	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dnsplug"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/poller"
)

// Status is every declared workload with its state, the label problems of
// each controller and the orphaned workloads.
type Status struct {
	Workloads map[string]*Workload                `json:"workloads"`
	Problems  map[string][]string                 `json:"problems"` // controller -> problems of its labels
	Orphans   map[string]controllers.OrphanStatus `json:"orphans"`  // workload -> since when no controller declares it
	// DNSUndeclared are records of workloads no controller declares: kept
	// until teardown, or being removed.
	DNSUndeclared map[string][]dnsplug.RecordStatus `json:"dns_undeclared,omitempty"`
	// Unverified are containers labelled managed that this sidecar did not
	// create (their identity signature does not verify): ignored.
	Unverified []deployer.Unverified `json:"unverified,omitempty"`
}

// Workload is one declared workload as it runs.
type Workload struct {
	Config    *labels.Workload    `json:"config"`
	Busy      bool                `json:"busy"` // a deploy runs or is queued
	Instances []deployer.Instance `json:"instances"`
	Routes    []deployer.Route    `json:"routes"`
	History   []deployer.Event    `json:"history"` // the last deploys, newest first
	// DNS is the state of the face records (with DNS managed): in place,
	// failed and retried, in conflict with a record not ours.
	DNS []dnsplug.RecordStatus `json:"dns,omitempty"`
	// HostConflicts are the faces refused because another workload owns
	// their host (or the sidecar reserves it), naming the owner.
	HostConflicts []deployer.HostConflict `json:"host_conflicts,omitempty"`
	// Tasks are, on a swarm (--engine swarm), the tasks of each instance
	// (a service), by instance id: slot, node, state, address.
	Tasks map[string][]Task `json:"tasks,omitempty"`
	// Pending is the delivery waiting for approval (approval manual).
	Pending *Approval `json:"pending,omitempty"`
	// Poll is the registry poller's state (poll label set).
	Poll *poller.Status `json:"poll,omitempty"`
}

// Task is one task of a deployed version on a swarm.
type Task struct {
	ID   string `json:"id"`
	Slot int    `json:"slot"`
	Node string `json:"node"` // node id
	// NodeName is the node's hostname, when the manager told it.
	NodeName string `json:"node_name,omitempty"`
	State    string `json:"state"`
	Desired  string `json:"desired"`
	Address  string `json:"address,omitempty"` // on the instance's network
	Error    string `json:"error,omitempty"`
}

// Approval is a delivery held for approval: POST
// /v1/workloads/<name>/approve deploys exactly this digest, reject drops
// it, a newer delivery replaces it, and it expires at Expires (zero:
// never).
type Approval struct {
	Image   string    `json:"image"`
	Tag     string    `json:"tag"`
	Digest  string    `json:"digest,omitempty"`
	Source  string    `json:"source"`
	Since   time.Time `json:"since"`
	Expires time.Time `json:"expires,omitzero"`
}

// Serving is the instance that serves the workload, by the deployer's one
// rule (deployer.ServingInstance): the newest running instance the routes
// point at, else the newest running one.
func (w *Workload) Serving() (deployer.Instance, bool) {
	return deployer.ServingInstance(w.Instances, w.Routes)
}

// Last is the newest deploy of the workload.
func (w *Workload) Last() (deployer.Event, bool) {
	if len(w.History) == 0 {
		return deployer.Event{}, false
	}
	return w.History[0], true
}

// RouteURL is the URL a route is served at: https for a face the proxy
// serves over TLS, http otherwise.
func RouteURL(r deployer.Route) string {
	if r.TLS {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// Age is how long ago t was, rounded for people: 42s, 5m, 3h, 2d.
func Age(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < time.Minute:
		return strconv.Itoa(int(max(d, 0)/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	default:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
}

// ShortDigest abbreviates a digest for tables: sha256: and 12 hex digits.
func ShortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
