package dnsplug

// Flags is what RegisterFlags needs from the sidecar's flag set, which
// gives every flag its TINYFORGE_* environment twin and reads a secret's
// --x-file / TINYFORGE_X_FILE twin.
type Flags interface {
	String(p *string, name, def, usage string)
	Secret(p *string, name, def, usage string)
	Int(p *int, name string, def int, usage string)
	Bool(p *bool, name string, def bool, usage string)
}

// RegisterFlags declares every DNS flag, with its default, into c.
func (c *Config) RegisterFlags(f Flags) {
	f.String(&c.Provider, "dns-provider", "none", "DNS records for faces: none, rfc2136 or cloudflare")
	f.String(&c.Server, "dns-server", "", "authoritative primary taking RFC 2136 updates, host:port (rfc2136)")
	f.String(&c.Zone, "dns-zone", "", "zone the faces' names live in, e.g. example.com")
	f.String(&c.TSIGName, "dns-tsig-name", "", "TSIG key name (rfc2136)")
	f.Secret(&c.TSIGSecret, "dns-tsig-secret", "", "TSIG secret, base64 (rfc2136)")
	f.String(&c.TSIGAlgorithm, "dns-tsig-algorithm", "hmac-sha256", "TSIG algorithm: hmac-sha1, -sha224, -sha256, -sha384 or -sha512 (rfc2136)")
	f.Int(&c.TTL, "dns-ttl", 300, "TTL of the records written, seconds")
	f.Secret(&c.CloudflareToken, "cloudflare-token", "", "Cloudflare API token with DNS Write on the zone (cloudflare)")
	f.String(&c.PublicIP, "public-ip", "", "IPv4 address faces' A records point to")
	f.String(&c.PublicIPv6, "public-ipv6", "", "IPv6 address faces' AAAA records point to")
	f.Bool(&c.Wildcard, "dns-wildcard", false, "the zone already has *.domain: create no record")
}
