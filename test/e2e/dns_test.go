package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dnsplug"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// dnsStack is a stack whose sidecar keeps the records of its faces in a
// private knotd's zone (RFC 2136, TSIG), the faces' domain. secret is the
// TSIG secret the sidecar is given, through TINYFORGE_DNS_TSIG_SECRET_FILE.
func dnsStack(t *testing.T, knot *testsvc.DNSServer, secret string) *stack {
	t.Helper()
	file := filepath.Join(t.TempDir(), "tsig")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStackWith(t, stackOptions{
		args: func(*stack) []string {
			return []string{"--domain", knot.Zone,
				"--dns-provider", "rfc2136", "--dns-server", knot.Addr, "--dns-zone", knot.Zone,
				"--dns-tsig-name", knot.KeyName, "--dns-ttl", "120",
				"--public-ip", "203.0.113.7", "--public-ipv6", "2001:db8::7", "--dns-recheck", "1s"}
		},
		env: func(*stack) []string { return []string{"TINYFORGE_DNS_TSIG_SECRET_FILE=" + file} },
	})
	s.host = s.workload + "." + knot.Zone
	return s
}

// lookup asks knotd directly, as dig would: "TYPE value" of each answer.
func lookup(t *testing.T, knot *testsvc.DNSServer, name string, qtype uint16) []string {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, knot.Addr)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	var out []string
	for _, rr := range r.Answer {
		f := strings.Fields(rr.String()) // name ttl class type rdata...
		out = append(out, f[3]+" "+strings.Join(f[4:], " "))
	}
	slices.Sort(out)
	return out
}

// dnsStatus is the dns part of GET /v1/workloads: the workload's records,
// and those of undeclared workloads.
func (s *stack) dnsStatus() (mine []dnsplug.RecordStatus, undeclared map[string][]dnsplug.RecordStatus) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.sidecarURL+"/v1/workloads", nil)
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET /v1/workloads: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Workloads map[string]struct {
			DNS []dnsplug.RecordStatus `json:"dns"`
		} `json:"workloads"`
		Undeclared map[string][]dnsplug.RecordStatus `json:"dns_undeclared"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatalf("GET /v1/workloads: %v", err)
	}
	return out.Workloads[s.workload].DNS, out.Undeclared
}

func recordOf(rs []dnsplug.RecordStatus, fqdn string) (dnsplug.RecordStatus, bool) {
	i := slices.IndexFunc(rs, func(r dnsplug.RecordStatus) bool { return r.FQDN == fqdn })
	if i < 0 {
		return dnsplug.RecordStatus{}, false
	}
	return rs[i], true
}

// dnsStep waits for the deploy of image to be recorded and returns its dns
// step.
func (s *stack) dnsStep(image string) deployer.StepTime {
	s.t.Helper()
	var ev deployer.Event
	eventually(s.t, 30*time.Second, "deploy of "+image+" recorded", func() bool {
		i := slices.IndexFunc(s.status().History, func(e deployer.Event) bool { return e.Image == image && e.Deploy != "" })
		if i >= 0 {
			ev = s.status().History[i]
		}
		return i >= 0
	})
	i := slices.IndexFunc(ev.Steps, func(st deployer.StepTime) bool { return st.Step == deployer.StepDNS })
	if i < 0 {
		s.t.Fatalf("deploy of %s has no dns step: %+v", image, ev.Steps)
	}
	// The records are in place before the route goes live: the dns step
	// comes before the switch, in order and in time.
	sw := slices.IndexFunc(ev.Steps, func(st deployer.StepTime) bool { return st.Step == deployer.StepSwitching })
	if sw < 0 || sw < i || ev.Steps[sw].At.Before(ev.Steps[i].At) {
		s.t.Fatalf("deploy of %s: the dns step is not before the switch: %+v", image, ev.Steps)
	}
	return ev.Steps[i]
}

// TestDNSRecordsFollowTheRoutes: a first deploy creates A, AAAA and the
// ownership TXT before the route goes live; a redeploy changes nothing in
// the zone; a record deleted by hand is repaired; a hand-made record of a
// face's name is reported as a conflict and never touched; a face with
// dns=false gets nothing; teardown removes what the sidecar wrote.
func TestDNSRecordsFollowTheRoutes(t *testing.T) {
	knot := testsvc.Knot(t)
	s := dnsStack(t, knot, knot.KeySecret)
	hand := s.workload + "-hand." + knot.Zone
	off := s.workload + "-off." + knot.Zone
	knot.SetRecord(t, s.workload+"-hand", "A", "198.51.100.9")
	w := "tinyforge.workloads." + s.workload + "."
	ctl := s.startController("a", s.controllerLabels(map[string]string{
		w + "faces.hand.subdomain": s.workload + "-hand",
		w + "faces.off.subdomain":  s.workload + "-off",
		w + "faces.off.dns":        "false",
	}))
	eventually(t, 5*time.Second, "workload declared", func() bool { return s.status().Declared })

	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	owner := `TXT "heritage=tinyforge,tinyforge/owner=` + s.scope + `,tinyforge/workload=` + s.workload + `"`
	for q, want := range map[uint16][]string{
		dns.TypeA: {"A 203.0.113.7"}, dns.TypeAAAA: {"AAAA 2001:db8::7"}, dns.TypeTXT: {owner},
	} {
		if got := lookup(t, knot, s.host, q); !slices.Equal(got, want) {
			t.Errorf("%s %s = %v, want %v", s.host, dns.TypeToString[q], got, want)
		}
	}
	if got := lookup(t, knot, off, dns.TypeA); len(got) != 0 {
		t.Errorf("face with dns=false got records: %v", got)
	}
	step := s.dnsStep(s.repo + ":v1")
	t.Logf("first deploy: dns step (2 names ensured and confirmed; 1 written) took %s; note %q", step.Took, step.Note)
	if !strings.Contains(step.Note, hand+": record not created") || !strings.Contains(step.Note, "A 198.51.100.9") {
		t.Errorf("dns step note = %q, want the conflict at %s named with the existing record", step.Note, hand)
	}
	recs, _ := s.dnsStatus()
	if r, ok := recordOf(recs, s.host); !ok || r.State != "ok" || r.Checked.IsZero() {
		t.Errorf("status of %s = %+v", s.host, r)
	}
	if r, ok := recordOf(recs, hand); !ok || r.State != "conflict" || !strings.Contains(r.Error, "A 198.51.100.9") {
		t.Errorf("status of %s = %+v, want a conflict naming the existing record", hand, r)
	}
	if _, ok := recordOf(recs, off); ok {
		t.Errorf("face with dns=false in the dns status: %+v", recs)
	}

	serial := knot.Serial(t)
	s.push("v2")
	s.waitServed("v2", 60*time.Second)
	step = s.dnsStep(s.repo + ":v2")
	t.Logf("redeploy: dns step (read only) took %s", step.Took)
	if got := knot.Serial(t); got != serial {
		t.Errorf("SOA serial %d -> %d across a redeploy: the zone changed", serial, got)
	}

	// Drift: an owned record deleted by hand comes back (--dns-recheck 1s).
	knot.Knotc(t, "zone-begin", knot.Zone)
	knot.Knotc(t, "zone-unset", knot.Zone, s.workload, "A")
	knot.Knotc(t, "zone-commit", knot.Zone)
	deleted := time.Now()
	eventually(t, 10*time.Second, "deleted A record repaired", func() bool {
		return slices.Equal(lookup(t, knot, s.host, dns.TypeA), []string{"A 203.0.113.7"})
	})
	t.Logf("A record deleted by hand repaired after %s", time.Since(deleted).Round(time.Millisecond))

	// Teardown removes what the sidecar wrote, and only that.
	s.removeContainer(ctl)
	eventually(t, 10*time.Second, "workload undeclared", func() bool { return !s.status().Declared })
	if code := s.api(http.MethodDelete, "/v1/workloads/"+s.workload); code != http.StatusAccepted {
		t.Fatalf("DELETE /v1/workloads/%s = %d", s.workload, code)
	}
	eventually(t, 30*time.Second, "records removed", func() bool {
		return len(lookup(t, knot, s.host, dns.TypeA))+len(lookup(t, knot, s.host, dns.TypeAAAA))+len(lookup(t, knot, s.host, dns.TypeTXT)) == 0
	})
	if got := lookup(t, knot, hand, dns.TypeA); !slices.Equal(got, []string{"A 198.51.100.9"}) {
		t.Errorf("hand-made record after teardown = %v, want untouched", got)
	}
	if got := lookup(t, knot, hand, dns.TypeTXT); len(got) != 0 {
		t.Errorf("ownership record written beside the hand-made one: %v", got)
	}
	time.Sleep(2 * time.Second) // a recheck or reconcile pass must not bring them back
	if got := lookup(t, knot, s.host, dns.TypeA); len(got) != 0 {
		t.Errorf("A record back after teardown: %v", got)
	}
	if _, undeclared := s.dnsStatus(); len(undeclared[s.workload]) != 0 {
		t.Errorf("dns status after teardown = %+v", undeclared)
	}
}

// TestDNSWrongKeyStillServes: the server refuses the sidecar's TSIG key;
// the deploy goes on and serves, its history and the status say why the
// record is missing, the log names the FQDN and the server's answer but
// never the secret, and the record is retried.
func TestDNSWrongKeyStillServes(t *testing.T) {
	knot := testsvc.Knot(t)
	wrong := base64.StdEncoding.EncodeToString([]byte("not-the-key-knot-was-given-" + testsvc.RunID))
	s := dnsStack(t, knot, wrong)
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 5*time.Second, "workload declared", func() bool { return s.status().Declared })

	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	step := s.dnsStep(s.repo + ":v1")
	t.Logf("first deploy with a refused key: dns step took %s; note %q", step.Took, step.Note)
	if !strings.Contains(step.Note, s.host+": record not in place, retried in the background") || !strings.Contains(step.Note, "refused") {
		t.Errorf("dns step note = %q", step.Note)
	}
	recs, _ := s.dnsStatus()
	r, ok := recordOf(recs, s.host)
	if !ok || r.State != "error" || r.Retry.IsZero() || !strings.Contains(r.Error, "refused") {
		t.Errorf("status of %s = %+v, want an error with its retry time", s.host, r)
	}
	t.Logf("status: %s: %s", r.State, r.Error)
	if got := lookup(t, knot, s.host, dns.TypeA); len(got) != 0 {
		t.Errorf("A record with a refused key: %v", got)
	}
	time.Sleep(3 * time.Second) // a retry or two
	out, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(out)
	if strings.Contains(log, wrong) {
		t.Error("the TSIG secret is in the sidecar's log")
	}
	retries := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "dns record not in place") && strings.Contains(line, `"fqdn":"`+s.host+`"`) {
			retries++
		}
	}
	if retries < 2 {
		t.Errorf("%d log lines about %s not in place, want the first attempt and a retry", retries, s.host)
	}
}
