package rfc2136

import (
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// DefaultAlgorithm is the TSIG algorithm used when none is given.
const DefaultAlgorithm = "hmac-sha256"

// algorithms maps the accepted --dns-tsig-algorithm names to miekg/dns's.
var algorithms = map[string]string{
	"hmac-sha1":   dns.HmacSHA1,
	"hmac-sha224": dns.HmacSHA224,
	"hmac-sha256": dns.HmacSHA256,
	"hmac-sha384": dns.HmacSHA384,
	"hmac-sha512": dns.HmacSHA512,
}

// Options configure one zone on one authoritative server.
type Options struct {
	Server    string // host:port of the primary; ":53" when no port is given
	Zone      string // e.g. example.com
	KeyName   string // TSIG key name; empty with Secret for unsigned updates
	Secret    string // TSIG secret, base64
	Algorithm string // TSIG algorithm, DefaultAlgorithm when empty
	TTL       uint32 // TTL of the records written, 300 when 0
	Timeout   time.Duration
}

// Zone reads and updates one zone on one server.
type Zone struct {
	server  string
	zone    string // fully qualified: example.com.
	keyName string // fully qualified, lower case
	secret  string
	alg     string
	ttl     uint32
	timeout time.Duration
}

// New checks o and returns the zone. It makes no network call.
func New(o Options) (*Zone, error) {
	z := &Zone{server: o.Server, ttl: o.TTL, timeout: o.Timeout}
	if z.server == "" {
		return nil, fmt.Errorf("rfc2136: server is required (host:port of the primary)")
	}
	if _, _, err := net.SplitHostPort(z.server); err != nil {
		z.server = net.JoinHostPort(z.server, "53")
	}
	if err := dnsrec.CheckName(o.Zone); err != nil {
		return nil, fmt.Errorf("rfc2136: zone: %w", err)
	}
	z.zone = dns.Fqdn(dnsrec.Canonical(o.Zone))
	if (o.KeyName == "") != (o.Secret == "") {
		return nil, fmt.Errorf("rfc2136: a TSIG key needs both its name and its secret")
	}
	if o.KeyName != "" {
		if _, ok := dns.IsDomainName(o.KeyName); !ok {
			return nil, fmt.Errorf("rfc2136: TSIG key name %q is not a domain name", o.KeyName)
		}
		if b, err := base64.StdEncoding.DecodeString(o.Secret); err != nil || len(b) == 0 {
			return nil, fmt.Errorf("rfc2136: TSIG secret of key %q is not base64", o.KeyName)
		}
		z.keyName, z.secret = dns.CanonicalName(o.KeyName), o.Secret
		alg := strings.TrimSuffix(strings.ToLower(o.Algorithm), ".")
		if alg == "" {
			alg = DefaultAlgorithm
		}
		if z.alg = algorithms[alg]; z.alg == "" {
			return nil, fmt.Errorf("rfc2136: TSIG algorithm %q: want hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512", o.Algorithm)
		}
	}
	if z.ttl == 0 {
		z.ttl = 300
	}
	if z.timeout <= 0 {
		z.timeout = 5 * time.Second
	}
	return z, nil
}

// client is a DNS client for one exchange, carrying the TSIG secret.
func (z *Zone) client(network string) *dns.Client {
	c := &dns.Client{Net: network, Timeout: z.timeout}
	if z.keyName != "" {
		c.TsigSecret = map[string]string{z.keyName: z.secret}
	}
	return c
}
