package sidecar

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dnsplug"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

var _ deployer.Names = (*dnsplug.Keeper)(nil)

// newNames builds the DNS keeper of the config; nil when the sidecar
// manages no record (--dns-provider none without --dns-wildcard).
func newNames(cfg Config, log zerolog.Logger) (*dnsplug.Keeper, error) {
	if !cfg.managesDNS() {
		return nil, nil
	}
	p, err := dnsplug.New(cfg.DNS.Config)
	if err != nil {
		return nil, err
	}
	return dnsplug.NewKeeper(dnsplug.KeeperOptions{
		Provider: p,
		Config:   cfg.DNS.Config,
		Instance: cfg.dnsOwner(),
		Recheck:  cfg.DNS.Recheck,
		Log:      log.With().Str(logkey.Component, "dns").Logger(),
	}), nil
}

// syncNames tells the keeper which names the stored routes serve (so it
// keeps their records after a restart) and which held names the labels no
// longer want (a face opted out with dns=false, or removed).
func (s *Sidecar) syncNames(ctx context.Context) {
	if s.dns == nil {
		return
	}
	since := time.Now()
	routes, err := s.store.Routes(ctx, "")
	if err != nil {
		s.log.Debug().Err(err).Msg("dns: routes not read; names learned next pass")
		return
	}
	want, unwant := namesOf(routes, s.controllers.Workloads(), s.cfg.Domain, s.dns.Held())
	s.dns.Learn(want, since)
	s.dns.Unwant(unwant)
}

// namesOf decides, from the stored routes and the declared workloads,
// which names need a record (want) and which held ones no longer do
// (unwant). A route of an undeclared workload keeps its record until the
// workload is torn down.
func namesOf(routes []deployer.Route, declared map[string]*labels.Workload, domain string, held []dnsplug.Name) (want, unwant []dnsplug.Name) {
	for _, r := range routes {
		if w := declared[r.Workload]; w != nil {
			if f := w.Faces[r.Face]; f != nil && !f.WantsDNS() {
				continue
			}
		}
		want = append(want, dnsplug.Name{Workload: r.Workload, FQDN: r.Host})
	}
	for _, n := range held {
		w := declared[n.Workload]
		if w == nil {
			continue
		}
		if !slices.Contains(dnsHostsOf(w, domain), n.FQDN) {
			unwant = append(unwant, n)
		}
	}
	return want, unwant
}

// dnsHostsOf is the host of every enabled face of w that keeps a record.
func dnsHostsOf(w *labels.Workload, domain string) []string {
	var hosts []string
	for _, f := range w.Faces {
		if f.Enabled() && f.WantsDNS() {
			hosts = append(hosts, dnsplug.Canonical(f.Host(cmp.Or(w.Settings.Domain, domain))))
		}
	}
	return hosts
}

// dnsStatuses is the keeper's state of every name, by workload; nil
// without DNS.
func (s *Sidecar) dnsStatuses() map[string][]dnsplug.RecordStatus {
	if s.dns == nil {
		return nil
	}
	return s.dns.Statuses()
}
