package dnsplug

import (
	"flag"
	"strings"
	"testing"
)

// flagSet adapts a plain flag.FlagSet to Flags, as the sidecar's will.
type flagSet struct{ *flag.FlagSet }

func (f flagSet) String(p *string, name, def, usage string)      { f.StringVar(p, name, def, usage) }
func (f flagSet) Secret(p *string, name, def, usage string)      { f.StringVar(p, name, def, usage) }
func (f flagSet) Int(p *int, name string, def int, usage string) { f.IntVar(p, name, def, usage) }
func (f flagSet) Bool(p *bool, name string, def bool, usage string) {
	f.BoolVar(p, name, def, usage)
}

func parse(t *testing.T, args ...string) Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(flagSet{fs})
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return c
}

func TestFlagsDefaultsAndValues(t *testing.T) {
	c := parse(t)
	if c.Provider != "none" || c.TTL != 300 || c.TSIGAlgorithm != "hmac-sha256" || c.Wildcard {
		t.Errorf("defaults = %+v", c)
	}
	if p, err := New(c); err != nil || p != (None{}) {
		t.Errorf("New(defaults) = %T, %v; want None", p, err)
	}
	c = parse(t, "--dns-provider", "rfc2136", "--dns-server", "ns1.example.com", "--dns-zone", "example.com",
		"--dns-tsig-name", "tf", "--dns-tsig-secret", "c2VjcmV0", "--dns-ttl", "60", "--public-ip", "203.0.113.7",
		"--public-ipv6", "2001:db8::7")
	p, err := New(c)
	if err != nil {
		t.Fatalf("New(rfc2136) = %v", err)
	}
	if _, ok := p.(*Manager); !ok {
		t.Errorf("New(rfc2136) = %T, want *Manager", p)
	}
	r, err := c.Record("shop.example.com", Owner{Instance: "edge", Workload: "shop"})
	if err != nil || len(r.A) != 1 || len(r.AAAA) != 1 || r.A[0].String() != "203.0.113.7" {
		t.Errorf("Record = %+v, %v", r, err)
	}
	c = parse(t, "--dns-provider", "cloudflare", "--cloudflare-token", "t", "--dns-wildcard")
	if p, err := New(c); err != nil || p != (Wildcard{}) {
		t.Errorf("New(wildcard) = %T, %v; want Wildcard", p, err)
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	ok := Config{Provider: "rfc2136", Server: "127.0.0.1:53", Zone: "example.com", TTL: 300, PublicIP: "203.0.113.7"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := map[string]struct {
		mod  func(*Config)
		want string
	}{
		"unknown provider":         {func(c *Config) { c.Provider = "route53" }, `--dns-provider "route53"`},
		"no server":                {func(c *Config) { c.Server = "" }, "--dns-server"},
		"no zone":                  {func(c *Config) { c.Zone = "" }, "--dns-zone"},
		"bad zone":                 {func(c *Config) { c.Zone = "exa mple.com" }, "--dns-zone"},
		"half a key":               {func(c *Config) { c.TSIGName = "tf" }, "--dns-tsig-secret"},
		"no address":               {func(c *Config) { c.PublicIP = "" }, "--public-ip"},
		"v6 as public-ip":          {func(c *Config) { c.PublicIP = "2001:db8::1" }, `--public-ip "2001:db8::1"`},
		"v4 as public-ipv6":        {func(c *Config) { c.PublicIPv6 = "203.0.113.1" }, "--public-ipv6"},
		"zero ttl":                 {func(c *Config) { c.TTL = 0 }, "--dns-ttl 0"},
		"cloudflare without token": {func(c *Config) { c.Provider = "cloudflare" }, "--cloudflare-token"},
		"cloudflare ttl":           {func(c *Config) { c.Provider, c.CloudflareToken, c.TTL = "cloudflare", "t", 10 }, "--dns-ttl 10"},
	}
	for name, tt := range tests {
		c := ok
		tt.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate = %v, want an error naming %q", name, err, tt.want)
		}
		if _, nerr := New(c); nerr == nil {
			t.Errorf("%s: New accepted what Validate refuses", name)
		}
	}
	bad := ok
	bad.TSIGName, bad.TSIGSecret, bad.TSIGAlgorithm = "tf", "c2VjcmV0", "hmac-md5"
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), `"hmac-md5"`) {
		t.Errorf("New with hmac-md5 = %v, want the algorithm named", err)
	}
	bad.TSIGAlgorithm, bad.TSIGSecret = "", "not base64!"
	if _, err := New(bad); err == nil || strings.Contains(err.Error(), "not base64!") {
		t.Errorf("New with a bad secret = %v, want an error that does not echo it", err)
	}
}
