package dnsplug

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tinyforge/tinyforge/dnsplug/cloudflare"
	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
	"github.com/tinyforge/tinyforge/dnsplug/rfc2136"
)

var _ Zone = (*cloudflare.Zone)(nil)

// Config is every DNS setting of the sidecar (see RegisterFlags).
type Config struct {
	Provider        string // none, rfc2136 or cloudflare
	Server          string // rfc2136: host:port of the primary
	Zone            string // the zone faces' names live in
	TSIGName        string
	TSIGSecret      string
	TSIGAlgorithm   string
	TTL             int
	CloudflareToken string
	PublicIP        string // A records
	PublicIPv6      string // AAAA records
	Wildcard        bool   // the zone has *.domain: manage nothing

	// ConfirmTimeout bounds the wait for the authority to show a change;
	// not a flag (10s).
	ConfirmTimeout time.Duration
}

// Validate checks the settings the chosen provider needs, naming the flag
// at fault.
func (c Config) Validate() error {
	switch c.Provider {
	case "", "none":
		return nil
	case "rfc2136":
		if c.Server == "" {
			return fmt.Errorf("--dns-provider rfc2136 needs --dns-server (host:port of the primary)")
		}
		if (c.TSIGName == "") != (c.TSIGSecret == "") {
			return fmt.Errorf("--dns-tsig-name and --dns-tsig-secret go together")
		}
	case "cloudflare":
		if c.CloudflareToken == "" {
			return fmt.Errorf("--dns-provider cloudflare needs --cloudflare-token (or TINYFORGE_CLOUDFLARE_TOKEN_FILE)")
		}
		if c.TTL != 1 && (c.TTL < 30 || c.TTL > 86400) {
			return fmt.Errorf("--dns-ttl %d: Cloudflare takes 1 (automatic) or 60-86400", c.TTL)
		}
	default:
		return fmt.Errorf("--dns-provider %q: want none, rfc2136 or cloudflare", c.Provider)
	}
	if c.Wildcard {
		return nil
	}
	if c.Zone == "" {
		return fmt.Errorf("--dns-provider %s needs --dns-zone", c.Provider)
	}
	if err := dnsrec.CheckName(c.Zone); err != nil {
		return fmt.Errorf("--dns-zone: %w", err)
	}
	if c.TTL < 1 || c.TTL > 604800 {
		return fmt.Errorf("--dns-ttl %d: want 1-604800 seconds", c.TTL)
	}
	if c.PublicIP == "" && c.PublicIPv6 == "" {
		return fmt.Errorf("--dns-provider %s needs --public-ip and/or --public-ipv6, the addresses records point to", c.Provider)
	}
	_, _, err := c.addresses()
	return err
}

// addresses parses --public-ip and --public-ipv6.
func (c Config) addresses() (a, aaaa []netip.Addr, err error) {
	if c.PublicIP != "" {
		ip, err := netip.ParseAddr(c.PublicIP)
		if err != nil || !ip.Is4() {
			return nil, nil, fmt.Errorf("--public-ip %q: want an IPv4 address", c.PublicIP)
		}
		a = append(a, ip)
	}
	if c.PublicIPv6 != "" {
		ip, err := netip.ParseAddr(c.PublicIPv6)
		if err != nil || !ip.Is6() || ip.Is4In6() || ip.Zone() != "" {
			return nil, nil, fmt.Errorf("--public-ipv6 %q: want an IPv6 address", c.PublicIPv6)
		}
		aaaa = append(aaaa, ip)
	}
	return a, aaaa, nil
}

// Record is the record a face's fqdn should have under this config.
func (c Config) Record(fqdn string, o Owner) (Record, error) {
	a, aaaa, err := c.addresses()
	return Record{FQDN: fqdn, A: a, AAAA: aaaa, Owner: o}, err
}

// New validates c and returns its provider: None, Wildcard, or a Manager
// over an RFC 2136 or Cloudflare zone. It makes no network call.
func New(c Config) (Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch {
	case c.Wildcard:
		return Wildcard{}, nil
	case c.Provider == "" || c.Provider == "none":
		return None{}, nil
	case c.Provider == "rfc2136":
		z, err := rfc2136.New(rfc2136.Options{Server: c.Server, Zone: c.Zone, KeyName: c.TSIGName, Secret: c.TSIGSecret,
			Algorithm: c.TSIGAlgorithm, TTL: uint32(c.TTL)})
		if err != nil {
			return nil, err
		}
		return NewManager(c.Zone, z, c.ConfirmTimeout), nil
	default:
		z, err := cloudflare.New(cloudflare.Options{Token: c.CloudflareToken, Zone: c.Zone, TTL: c.TTL})
		if err != nil {
			return nil, err
		}
		return NewManager(c.Zone, z, c.ConfirmTimeout), nil
	}
}
