package testsvc

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DNSServer is a private authoritative knotd on loopback, serving one zone
// that accepts RFC 2136 updates signed with one TSIG key.
type DNSServer struct {
	Addr         string // 127.0.0.1:port, UDP and TCP
	Zone         string // e.g. tf-1a2b3c4d.test, without the trailing dot
	KeyName      string // TSIG key name
	KeySecret    string // TSIG secret, base64
	KeyAlgorithm string // hmac-sha256
	Dir          string // config, zone file, journal, control socket, log
}

// Knot starts knotd with a fresh zone (SOA, NS) in t.TempDir() on a free
// loopback port, and stops it at cleanup. It returns once the server
// answers for the zone with authority.
func Knot(t testing.TB) *DNSServer {
	t.Helper()
	bin := LookBinary(t, "knotd")
	dir := t.TempDir()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatalf("tsig secret: %v", err)
	}
	s := &DNSServer{
		Addr:         fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		Zone:         "tf-" + RunID + ".test",
		KeyName:      "tinyforge-test",
		KeySecret:    base64.StdEncoding.EncodeToString(secret),
		KeyAlgorithm: "hmac-sha256",
		Dir:          dir,
	}
	zone := fmt.Sprintf(`$ORIGIN %s.
$TTL 300
@	SOA	ns1 hostmaster 1 3600 900 604800 300
@	NS	ns1
ns1	A	127.0.0.1
`, s.Zone)
	if err := os.WriteFile(filepath.Join(dir, s.Zone+".zone"), []byte(zone), 0o644); err != nil {
		t.Fatalf("knot zone file: %v", err)
	}
	host, port, _ := strings.Cut(s.Addr, ":")
	conf := fmt.Sprintf(`server:
    rundir: "%[1]s"
    listen: %[2]s@%[3]s
log:
  - target: stderr
    any: info
database:
    storage: "%[1]s"
key:
  - id: %[4]s
    algorithm: %[5]s
    secret: %[6]s
acl:
  - id: tinyforge-update
    key: %[4]s
    action: update
template:
  - id: default
    storage: "%[1]s"
    file: "%%s.zone"
zone:
  - domain: %[7]s
    acl: tinyforge-update
`, dir, host, port, s.KeyName, s.KeyAlgorithm, s.KeySecret, s.Zone)
	confPath := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatalf("knot config: %v", err)
	}
	StartProcess(t, dir, bin, "--config", confPath)
	if err := s.waitZone(10 * time.Second); err != nil {
		t.Fatalf("knotd: %v", err)
	}
	return s
}

// waitZone waits until the server answers the zone's SOA with authority.
func (s *DNSServer) waitZone(timeout time.Duration) error {
	c := &dns.Client{Net: "tcp", Timeout: 500 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(s.Zone), dns.TypeSOA)
	deadline := time.Now().Add(timeout)
	for {
		r, _, err := c.Exchange(q, s.Addr)
		if err == nil && r.Rcode == dns.RcodeSuccess && r.Authoritative && len(r.Answer) > 0 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("rcode %s, authoritative %v", dns.RcodeToString[r.Rcode], r.Authoritative)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("zone %s not served on %s after %s: %w", s.Zone, s.Addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Knotc runs knotc against this server's control socket, as an operator
// editing the zone by hand would, and fails the test on error.
func (s *DNSServer) Knotc(t testing.TB, args ...string) string {
	t.Helper()
	bin := LookBinary(t, "knotc")
	cmd := exec.Command(bin, append([]string{"--socket", filepath.Join(s.Dir, "knot.sock")}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("knotc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// SetRecord adds one record to the zone by hand (knotc zone transaction),
// e.g. SetRecord(t, "shop", "A", "198.51.100.9").
func (s *DNSServer) SetRecord(t testing.TB, owner, typ, value string) {
	t.Helper()
	s.Knotc(t, "zone-begin", s.Zone)
	s.Knotc(t, "zone-set", s.Zone, owner, "300", typ, value)
	s.Knotc(t, "zone-commit", s.Zone)
}

// Serial is the zone's SOA serial as the server answers it now.
func (s *DNSServer) Serial(t testing.TB) uint32 {
	t.Helper()
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(s.Zone), dns.TypeSOA)
	r, _, err := c.Exchange(q, s.Addr)
	if err != nil {
		t.Fatalf("SOA %s: %v", s.Zone, err)
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial
		}
	}
	t.Fatalf("SOA %s: no SOA in answer (rcode %s)", s.Zone, dns.RcodeToString[r.Rcode])
	return 0
}
