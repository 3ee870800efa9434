package sidecar

import (
	"fmt"
	"time"

	"github.com/tinyforge/tinyforge/dnsplug"
)

// DNSConfig is the DNS settings: the provider's (dnsplug.RegisterFlags)
// and the sidecar's own.
type DNSConfig struct {
	dnsplug.Config
	// Owner names this sidecar in the ownership TXT record of every record
	// it writes. It must stay the same across restarts and upgrades, or
	// the records become someone else's: --dns-owner, else --scope, else
	// "tinyforge".
	Owner   string
	Recheck time.Duration
}

// dnsFlagSet gives dnsplug.RegisterFlags the sidecar's flags, each with
// its TINYFORGE_* twin and, for secrets, its --x-file twin.
type dnsFlagSet struct{ *envFlags }

func (f dnsFlagSet) String(p *string, name, def, usage string)      { f.str(p, name, def, usage) }
func (f dnsFlagSet) Secret(p *string, name, def, usage string)      { f.secret(p, name, def, usage) }
func (f dnsFlagSet) Int(p *int, name string, def int, usage string) { f.integer(p, name, def, usage) }
func (f dnsFlagSet) Bool(p *bool, name string, def bool, usage string) {
	f.boolean(p, name, def, usage)
}

var _ dnsplug.Flags = dnsFlagSet{}

func (d *DNSConfig) flags(e *envFlags) {
	d.RegisterFlags(dnsFlagSet{e})
	e.str(&d.Owner, "dns-owner", "", "name of this sidecar in the ownership record beside each DNS record; must stay the same across restarts (default: --scope, else \"tinyforge\"); give each sidecar writing to one zone its own")
	e.duration(&d.Recheck, "dns-recheck", time.Minute, "how often each DNS record is read again, so a deleted or changed record is repaired")
}

// owner is the ownership name records are written under.
func (c Config) dnsOwner() string {
	switch {
	case c.DNS.Owner != "":
		return c.DNS.Owner
	case c.Scope != "":
		return c.Scope
	default:
		return "tinyforge"
	}
}

// managesDNS reports whether the sidecar keeps records (or reports the
// wildcard) at all.
func (c Config) managesDNS() bool {
	return c.DNS.Wildcard || (c.DNS.Provider != "" && c.DNS.Provider != "none")
}

func (c Config) validateDNS() error {
	if err := c.DNS.Validate(); err != nil {
		return err
	}
	if !c.managesDNS() {
		return nil
	}
	if c.DNS.Recheck <= 0 {
		return fmt.Errorf("--dns-recheck must be positive, got %s", c.DNS.Recheck)
	}
	flag := "--dns-owner"
	if c.DNS.Owner == "" && c.Scope != "" {
		flag = "--scope (the default of --dns-owner)"
	}
	if err := (dnsplug.Owner{Instance: c.dnsOwner(), Workload: "w"}).Validate(); err != nil {
		return fmt.Errorf("%s %q cannot name the owner of DNS records: %w", flag, c.dnsOwner(), err)
	}
	return nil
}
