package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// TestMetricsAndNotificationsAfterRealDeploys runs the real sidecar with
// /metrics behind a token and one notification target, a real HTTP
// receiver (shoutrrr's generic webhook), then deploys for real: v1
// succeeds, :bad fails its health check, a redelivery and a no-op deploy
// request change nothing, v2 is killed in the watch and rolled back, two
// deliveries are refused; last the controller goes and the workload is
// orphaned. The receiver must count exactly one message per outcome, and
// the metrics (linted by promtool) must hold the values of what happened.
func TestMetricsAndNotificationsAfterRealDeploys(t *testing.T) {
	const metricsToken = "metrics-e2e-token"
	rcv := newNotifyReceiver(t)
	s := newStackServices(t, testsvc.Redis(t).URL)
	p := s.launch(procOpts{args: []string{"--watch", "8s", "--metrics-token", metricsToken,
		"--notify", "ops=generic://" + rcv.addr() + "/hook?disabletls=yes&template=json", "--notify-window", "200ms"}})
	ctl := s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	w := s.workload

	// v1: succeeded. The sidecar's CPU over it is logged next to its idle
	// CPU over as long (reconcile every second, events watches).
	idle0 := sidecarCPU(t, p)
	time.Sleep(5 * time.Second)
	idle := sidecarCPU(t, p) - idle0
	cpu0, at0 := sidecarCPU(t, p), time.Now()
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	rcv.wait(t, 1, 30*time.Second)
	cpu, took := sidecarCPU(t, p)-cpu0, time.Since(at0)
	t.Logf("sidecar CPU (race build) over the v1 deploy, push to notified: %s in %s; idle: %s per 5s",
		cpu, took.Round(time.Millisecond), idle)

	// :bad fails its health check: failed, v1 keeps serving.
	s.push("bad", "HEALTH=fail")
	eventually(t, 60*time.Second, "failed deploy of :bad recorded", func() bool { return s.status().outcomes(s.repo + ":bad")["failed"] == 1 })
	rcv.wait(t, 2, 10*time.Second)

	// A redelivery of v1's notification is a duplicate; a deploy request
	// of the tag serving is a no-op (skipped). Neither sends a message.
	d := s.waitDelivery("v1")
	if code := d.send(p.url + "/v1/hooks/distribution"); code != http.StatusAccepted {
		t.Fatalf("redelivery of v1: %d", code)
	}
	if code := s.postJSON(p.url+"/v1/deploy", s.apiToken, `{"workload":"`+w+`","tag":"v1"}`); code != http.StatusAccepted {
		t.Fatalf("deploy request of v1: %d", code)
	}
	eventually(t, 30*time.Second, "the no-op deploy request counted as skipped", func() bool {
		return metricValue(s.scrape(p.url, metricsToken), "tinyforge_deploys_total", "workload", w, "outcome", "skipped") == 1
	})

	// v2 dies in the watch: rolled back to v1.
	s.push("v2")
	s.waitServed("v2", 60*time.Second)
	for _, c := range s.workloadContainers(false) {
		if c.Labels[labels.ManagedTag] == "v2" {
			if err := s.cli.ContainerKill(context.Background(), c.ID, "KILL"); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.waitServed("v1", 30*time.Second)
	rcv.wait(t, 3, 30*time.Second)
	s.waitContainers(1)

	// Refused deliveries: a malformed body and a wrong token.
	if code := s.postJSON(p.url+"/v1/hooks/distribution", s.webhookToken, `{"events":`); code != http.StatusBadRequest {
		t.Fatalf("malformed delivery: %d, want 400", code)
	}
	if code := s.postJSON(p.url+"/v1/hooks/distribution", "wrong", `{"events":[]}`); code != http.StatusUnauthorized {
		t.Fatalf("delivery with a wrong token: %d, want 401", code)
	}

	// The metrics: promtool-clean, and the values of what happened.
	if code, _ := s.get2(p.url+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token: %d, want 401", code)
	}
	var body string
	eventually(t, 10*time.Second, "instances settled in the metrics", func() bool {
		body = s.scrape(p.url, metricsToken)
		return metricValue(body, "tinyforge_instances", "workload", w, "state", "running") == 1 &&
			metricValue(body, "tinyforge_instances", "workload", w, "state", "exited") == 0
	})
	promtool(t, body)
	for _, c := range []struct {
		name    string
		labels  []string
		want    float64
		atLeast bool
	}{
		{"tinyforge_deploys_total", []string{"workload", w, "outcome", "succeeded"}, 1, false},
		{"tinyforge_deploys_total", []string{"workload", w, "outcome", "failed"}, 1, false},
		{"tinyforge_deploys_total", []string{"workload", w, "outcome", "rolled_back"}, 1, false},
		{"tinyforge_deploys_total", []string{"workload", w, "outcome", "skipped"}, 1, false},
		{"tinyforge_deploy_seconds_count", []string{"workload", w}, 1, false},
		{"tinyforge_deploy_phase_seconds_count", []string{"workload", w, "phase", "pull"}, 3, false},
		{"tinyforge_deploy_phase_seconds_count", []string{"workload", w, "phase", "health"}, 3, false},
		{"tinyforge_deploy_phase_seconds_count", []string{"workload", w, "phase", "watch"}, 2, false},
		{"tinyforge_deploy_phase_seconds_count", []string{"workload", w, "phase", "drain"}, 1, false},
		{"tinyforge_webhook_deliveries_total", []string{"source", "distribution", "outcome", "accepted"}, 3, true},
		{"tinyforge_webhook_deliveries_total", []string{"source", "distribution", "outcome", "duplicate"}, 1, true},
		{"tinyforge_webhook_deliveries_total", []string{"source", "distribution", "outcome", "rejected"}, 1, false},
		{"tinyforge_webhook_deliveries_total", []string{"source", "distribution", "outcome", "unauthorized"}, 1, false},
		{"tinyforge_webhook_deliveries_total", []string{"source", "api", "outcome", "accepted"}, 1, false},
		{"tinyforge_workloads", []string{"state", "declared"}, 1, false},
		{"tinyforge_inbox_pending", nil, 0, false},
		{"tinyforge_reconcile_seconds_count", nil, 1, true},
		{"tinyforge_notifications_total", []string{"target", "ops", "outcome", "sent"}, 3, false},
		{"tinyforge_build_info", nil, 1, false},
	} {
		got := metricValue(body, c.name, c.labels...)
		if got != c.want && !(c.atLeast && got > c.want) {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if served := metricValue(body, "tinyforge_deploy_seconds_sum", "workload", w); served <= 0 || served > 60 {
		t.Errorf("time to serve of v1 = %vs", served)
	} else {
		t.Logf("v1: request to served %.3fs (tinyforge_deploy_seconds)", served)
	}

	// The controller goes: the workload is orphaned, once.
	s.removeContainer(ctl)
	rcv.wait(t, 4, 30*time.Second)
	eventually(t, 10*time.Second, "orphaned in the metrics", func() bool {
		return metricValue(s.scrape(p.url, metricsToken), "tinyforge_workloads", "state", "orphaned") == 1
	})

	time.Sleep(3 * time.Second) // several reconcile passes and windows: a repeat would show
	got := rcv.messages()
	want := []string{w + ": deployed v1", w + ": deploy of bad failed", w + ": v2 rolled back", w + ": orphaned"}
	if len(got) != len(want) {
		t.Fatalf("receiver got %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Title != "tinyforge: "+want[i] {
			t.Errorf("message %d: %q, want %q", i+1, got[i].Title, "tinyforge: "+want[i])
		}
	}
	if m := got[0].Message; !strings.Contains(m, "(sha256:") || !strings.Contains(m, "after the request") {
		t.Errorf("succeeded message lacks the digest or the time to serve: %q", m)
	}
	if m := got[1].Message; !strings.Contains(m, "at step health") {
		t.Errorf("failed message lacks the step: %q", m)
	}
	for i, m := range got {
		t.Logf("message %d: %s", i+1, m.Message)
	}
}

// notifyReceiver is a real HTTP server taking shoutrrr generic webhook
// messages (template=json: {"title", "message"}).
type notifyReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []notifyMessage
}

type notifyMessage struct{ Title, Message string }

func newNotifyReceiver(t *testing.T) *notifyReceiver {
	r := &notifyReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m notifyMessage
		raw, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Errorf("notification body %q: %v", raw, err)
		}
		r.mu.Lock()
		r.got = append(r.got, m)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *notifyReceiver) addr() string { return r.srv.Listener.Addr().String() }

func (r *notifyReceiver) messages() []notifyMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notifyMessage(nil), r.got...)
}

// wait waits until the receiver has at least n messages.
func (r *notifyReceiver) wait(t *testing.T, n int, within time.Duration) {
	t.Helper()
	eventually(t, within, strconv.Itoa(n)+" notification(s)", func() bool { return len(r.messages()) >= n })
}

// scrape reads the sidecar's /metrics with the bearer token.
func (s *stack) scrape(base, token string) string {
	s.t.Helper()
	code, body := s.get2(base+"/metrics", token)
	if code != http.StatusOK {
		s.t.Fatalf("GET /metrics: %d %s", code, body)
	}
	return body
}

// get2 GETs url with an optional bearer token.
func (s *stack) get2(url, token string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postJSON posts body with a bearer token and returns the status.
func (s *stack) postJSON(url, token, body string) int {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var sampleLabel = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// metricValue is the value of the sample of name whose labels include
// the given name/value pairs (-1 when there is none): the Prometheus text
// format read line by line.
func metricValue(body, name string, kv ...string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, name) {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		series := line[:sp]
		labelText := ""
		if i := strings.IndexByte(series, '{'); i >= 0 {
			series, labelText = series[:i], series[i:]
		}
		if series != name {
			continue
		}
		have := map[string]string{}
		for _, m := range sampleLabel.FindAllStringSubmatch(labelText, -1) {
			have[m[1]] = m[2]
		}
		match := true
		for i := 0; i+1 < len(kv); i += 2 {
			match = match && have[kv[i]] == kv[i+1]
		}
		if match {
			v, _ := strconv.ParseFloat(line[sp+1:], 64)
			return v
		}
	}
	return -1
}

// promtool lints a scrape with Prometheus' promtool (Debian package
// prometheus), failing under CI=true when it is missing.
func promtool(t *testing.T, body string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		testsvc.Unavailable(t, "promtool not installed (Debian package prometheus: scripts/install-deps.sh installs it)")
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// sidecarCPU is the CPU time the sidecar process has used so far.
func sidecarCPU(t *testing.T, p *sidecarProc) time.Duration {
	t.Helper()
	p.mu.Lock()
	pid := p.cmd.Process.Pid
	p.mu.Unlock()
	cpu, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	return cpu
}
