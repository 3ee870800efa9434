package caddy

import (
	"context"
	"net/http"
	"net/url"
	"slices"
)

// Certificate issuers of Options.TLSIssuer.
const (
	IssuerACME     = "acme"
	IssuerInternal = "internal"
)

// policyID is the "@id" of the plugin's automation policy in Caddy's tls
// app: the hosts of its TLS routes, issued by Caddy's internal CA.
func (p *Plugin) policyID() string { return p.opts.Server + ".internal" }

const policiesPath = "/config/apps/tls/automation/policies"

// ensureIssuer makes Caddy issue host's certificate the way TLSIssuer
// says. ACME is Caddy's default for a public name and needs nothing; for
// the internal CA, host joins the subjects of the plugin's own policy,
// which goes first among the policies (created with the tls app objects
// above it when absent). Other policies are left alone.
func (p *Plugin) ensureIssuer(ctx context.Context, host string) error {
	if p.opts.TLSIssuer != IssuerInternal {
		return nil
	}
	var pol policy
	ok, err := p.admin.getOptional(ctx, "/id/"+url.PathEscape(p.policyID()), &pol)
	if err != nil && !hasStatus(err, http.StatusNotFound) {
		return err
	}
	if ok {
		if slices.Contains(pol.Subjects, host) {
			return nil
		}
		return p.admin.do(ctx, http.MethodPost, "/id/"+url.PathEscape(p.policyID())+"/subjects", host, nil)
	}
	pol = policy{ID: p.policyID(), Subjects: []string{host}, Issuers: []issuer{{Module: "internal"}}}
	var existing []any
	if ok, err := p.admin.getOptional(ctx, policiesPath, &existing); err != nil {
		return err
	} else if ok {
		return p.admin.do(ctx, http.MethodPut, policiesPath+"/0", pol, nil)
	}
	return p.admin.do(ctx, http.MethodPut, policiesPath, []policy{pol}, nil)
}
