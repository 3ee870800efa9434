package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/webhook"
)

// TestWebhookDelivery drives registry notifications the way registries
// really deliver them: redelivered in a burst, several pushes at once, and
// to a sidecar that dies right after accepting one.
func TestWebhookDelivery(t *testing.T) {
	s := newStack(t)
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	hookURL := s.sidecarURL + "/v1/hooks/distribution"

	t.Run("fifty replays of one notification deploy once", func(t *testing.T) {
		s.hooks.setHold(true)
		s.push("v1")
		d := s.waitDelivery("v1")
		s.hooks.setHold(false)
		start := time.Now()
		codes := make(chan int, 50)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { codes <- d.send(hookURL) })
		}
		wg.Wait()
		close(codes)
		t.Logf("50 deliveries of the v1 notification answered in %s", time.Since(start).Round(time.Millisecond))
		for c := range codes {
			if c != http.StatusAccepted {
				t.Errorf("delivery answered %d, want 202", c)
			}
		}
		s.waitServed("v1", 60*time.Second)
		s.waitContainers(1)
		time.Sleep(2 * time.Second) // let any extra deploy show itself
		got := s.tally(s.repo + ":v1")
		if got.deploys != 1 || got.deployed != 1 || got.accepted != 1 || got.duplicate != 49 {
			t.Fatalf("after 50 deliveries: %+v; want 1 deploy, 1 accepted, 49 duplicates", got)
		}
	})

	t.Run("three tags pushed quickly end on the last", func(t *testing.T) {
		// The registry's notifications are held and released together, so
		// all three arrive while the first deploy is still running.
		s.hooks.setHold(true)
		for _, tag := range []string{"v2", "v3", "v4"} {
			s.push(tag)
		}
		for _, tag := range []string{"v2", "v3", "v4"} {
			s.waitDelivery(tag)
		}
		for _, code := range s.hooks.release(hookURL) {
			if code != http.StatusAccepted {
				t.Errorf("released delivery answered %d", code)
			}
		}
		s.waitServed("v4", 60*time.Second)
		s.waitContainers(1)
		time.Sleep(2 * time.Second)
		if code, body, err := s.get(http.DefaultClient, "/"); err != nil || code != 200 || body != "v4" {
			t.Fatalf("after the burst: %d %q %v, want v4 still served", code, body, err)
		}
		deploys := 0
		for _, tag := range []string{"v2", "v3", "v4"} {
			deploys += s.tally(s.repo + ":" + tag).deploys
		}
		if deploys > 2 || s.tally(s.repo+":v4").deployed != 1 {
			t.Fatalf("%d deploys for three tags (v4: %+v), want at most 2 ending on v4", deploys, s.tally(s.repo+":v4"))
		}
		last := s.lastDeploy()
		if last.Image != s.repo+":v4" {
			t.Fatalf("last deploy %s, want v4", last.Image)
		}
		t.Logf("three tags pushed within a burst: %d deploys, ending on v4", deploys)
	})

	t.Run("a sidecar killed right after its 202 deploys on restart", func(t *testing.T) {
		killed := make(chan time.Time, 1)
		var once sync.Once
		s.hooks.setAfter(func(d delivery) {
			pushes, _ := webhook.ParseDistribution(d.ContentType, d.Body)
			if d.Status != http.StatusAccepted || !slices.ContainsFunc(pushes, func(p webhook.Push) bool { return p.Tag == "v5" }) {
				return
			}
			once.Do(func() {
				_ = s.proc.Process.Kill() // SIGKILL: no shutdown path runs
				_ = s.proc.Wait()
				killed <- time.Now()
			})
		})
		s.push("v5")
		var at time.Time
		select {
		case at = <-killed:
		case <-time.After(60 * time.Second):
			t.Fatal("the v5 notification never reached the sidecar")
		}
		s.hooks.setAfter(nil)
		if code, body, err := s.get(http.DefaultClient, "/"); err == nil && code == 200 {
			t.Logf("killed right after the 202; serving %q at that moment", body)
		}
		s.startSidecar(s.redisURL, s.port, s.webhookToken)
		served := s.waitServed("v5", 60*time.Second)
		t.Logf("v5 served %s after the sidecar was killed (restart included)", served.Sub(at).Round(time.Millisecond))
		s.waitContainers(1)
		if log, _ := os.ReadFile(s.logPath); !strings.Contains(string(log), "resuming requests accepted before a restart") {
			t.Error("the restarted sidecar did not resume the request from the inbox")
		}
		if got := s.tally(s.repo + ":v5"); got.deployed != 1 || got.accepted != 1 {
			t.Fatalf("v5 after the restart: %+v, want accepted once and deployed once", got)
		}
	})
}

// tally counts a workload's history for one image.
type tally struct{ deploys, deployed, accepted, duplicate int }

func (s *stack) tally(image string) tally {
	var out tally
	for _, ev := range s.events() {
		if ev.Image != image {
			continue
		}
		switch {
		case ev.Deploy != "":
			out.deploys++
			if ev.Outcome == "deployed" {
				out.deployed++
			}
		case ev.Outcome == "accepted":
			out.accepted++
		case strings.HasPrefix(ev.Outcome, "duplicate"):
			out.duplicate++
		}
	}
	return out
}

// lastDeploy is the newest deploy record of the workload.
func (s *stack) lastDeploy() deployer.Event {
	for _, ev := range s.events() { // newest first
		if ev.Deploy != "" {
			return ev
		}
	}
	return deployer.Event{}
}

// events reads the workload's whole history through the API.
func (s *stack) events() []deployer.Event {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.sidecarURL+"/v1/workloads/"+s.workload+"/events?n=0", nil)
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET events: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Events []deployer.Event `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("GET events: %d, %v", resp.StatusCode, err)
	}
	return out.Events
}

func (h *hookRecorder) setHold(hold bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hold = hold
}

func (h *hookRecorder) setAfter(f func(delivery)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.after = f
}

// release stops holding and forwards the held deliveries in the order
// they arrived, one right after the other; it returns their statuses.
func (h *hookRecorder) release(target string) []int {
	h.mu.Lock()
	held := h.held
	h.held, h.hold = nil, false
	h.mu.Unlock()
	codes := make([]int, 0, len(held))
	for _, d := range held {
		codes = append(codes, d.send(target))
	}
	return codes
}
