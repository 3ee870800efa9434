package sidecar

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dnsplug"
	"github.com/tinyforge/tinyforge/labels"
)

func TestDNSFlags(t *testing.T) {
	rfc := []string{"--dns-provider", "rfc2136", "--dns-server", "127.0.0.1:53", "--dns-zone", "example.com", "--public-ip", "203.0.113.7"}
	testParseCases(t, []parseCase{
		{"none by default", nil, envPairs(), ""},
		{"rfc2136", rfc, envPairs(), ""},
		{"rfc2136 from the environment", nil, envPairs("TINYFORGE_DNS_PROVIDER", "rfc2136", "TINYFORGE_DNS_SERVER", "ns1:53",
			"TINYFORGE_DNS_ZONE", "example.com", "TINYFORGE_PUBLIC_IP", "203.0.113.7"), ""},
		{"no server", []string{"--dns-provider", "rfc2136"}, envPairs(), "needs --dns-server"},
		{"no address", []string{"--dns-provider", "rfc2136", "--dns-server", "ns1:53", "--dns-zone", "example.com"}, envPairs(), "needs --public-ip and/or --public-ipv6"},
		{"bad ipv6", append(slices.Clone(rfc), "--public-ipv6", "203.0.113.8"), envPairs(), `--public-ipv6 "203.0.113.8"`},
		{"tsig name alone", append(slices.Clone(rfc), "--dns-tsig-name", "k"), envPairs(), "--dns-tsig-name and --dns-tsig-secret go together"},
		{"cloudflare without token", []string{"--dns-provider", "cloudflare", "--dns-zone", "example.com", "--public-ip", "203.0.113.7"}, envPairs(), "needs --cloudflare-token"},
		{"cloudflare token from env", []string{"--dns-provider", "cloudflare", "--dns-zone", "example.com", "--public-ip", "203.0.113.7"}, envPairs("TINYFORGE_CLOUDFLARE_TOKEN", "t"), ""},
		{"unknown provider", []string{"--dns-provider", "route53"}, envPairs(), "want none, rfc2136 or cloudflare"},
		{"bad owner", append(slices.Clone(rfc), "--dns-owner", "edge 1"), envPairs(), `--dns-owner "edge 1" cannot name the owner`},
		{"bad scope as owner", append(slices.Clone(rfc), "--scope", "a,b"), envPairs(), `--scope (the default of --dns-owner) "a,b"`},
		{"bad recheck", append(slices.Clone(rfc), "--dns-recheck", "0s"), envPairs(), "--dns-recheck must be positive"},
		{"bad ttl env", rfc, envPairs("TINYFORGE_DNS_TTL", "5m"), "TINYFORGE_DNS_TTL"},
	})

	secret := filepath.Join(t.TempDir(), "tsig")
	if err := os.WriteFile(secret, []byte("c2VjcmV0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(append(slices.Clone(rfc), "--dns-tsig-name", "tf"), envPairs("TINYFORGE_DNS_TSIG_SECRET_FILE", secret))
	if err != nil || c.DNS.TSIGSecret != "c2VjcmV0" || c.DNS.TSIGAlgorithm != "hmac-sha256" || c.DNS.TTL != 300 {
		t.Fatalf("secret from TINYFORGE_DNS_TSIG_SECRET_FILE: %+v, %v", c.DNS, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "tinyforge"},
		{[]string{"--scope", "edge"}, "edge"},
		{[]string{"--scope", "edge", "--dns-owner", "paris-1"}, "paris-1"},
	} {
		c, err := Parse(append(slices.Clone(rfc), tc.args...), envPairs())
		if err != nil || c.dnsOwner() != tc.want {
			t.Errorf("owner with %v = %q, %v; want %q", tc.args, c.dnsOwner(), err, tc.want)
		}
	}
}

func TestNamesOf(t *testing.T) {
	no := new(false)
	declared := map[string]*labels.Workload{
		"shop": {Name: "shop", Faces: map[string]*labels.Face{
			"www":   {Subdomain: "www"},
			"admin": {Subdomain: "admin", DNS: no},
		}},
		"blog": {Name: "blog", Settings: labels.Settings{Domain: "blog.example"}, Faces: map[string]*labels.Face{"www": {Subdomain: "www"}}},
	}
	routes := []deployer.Route{
		{Workload: "shop", Face: "www", Host: "www.example.com"},
		{Workload: "shop", Face: "admin", Host: "admin.example.com"},
		{Workload: "gone", Face: "www", Host: "gone.example.com"}, // undeclared: kept until teardown
	}
	held := []dnsplug.Name{
		{Workload: "shop", FQDN: "www.example.com"},
		{Workload: "shop", FQDN: "admin.example.com"}, // opted out since
		{Workload: "shop", FQDN: "old.example.com"},   // face removed
		{Workload: "blog", FQDN: "www.blog.example"},
		{Workload: "gone", FQDN: "gone.example.com"},
	}
	want, unwant := namesOf(routes, declared, "example.com", held)
	if w := []dnsplug.Name{{Workload: "shop", FQDN: "www.example.com"}, {Workload: "gone", FQDN: "gone.example.com"}}; !slices.Equal(want, w) {
		t.Errorf("want = %v, want %v", want, w)
	}
	if w := []dnsplug.Name{{Workload: "shop", FQDN: "admin.example.com"}, {Workload: "shop", FQDN: "old.example.com"}}; !slices.Equal(unwant, w) {
		t.Errorf("unwant = %v, want %v", unwant, w)
	}
}
