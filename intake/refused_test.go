package intake

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
)

// refusing is a declared set that also refuses some workloads.
type refusing struct {
	declared
	reasons map[string]string
	decls   map[string][]*labels.Workload
}

func (r refusing) Refused() (map[string]string, map[string][]*labels.Workload) {
	return r.reasons, r.decls
}

// TestConflictRefusesDeliveriesWithItsReason (issue 15, finding 6): a
// workload in conflict with no agreed declaration is not "no workload":
// its pushes are answered 202 and recorded in its history with the
// conflict as reason, and the deploy API names the conflict in its 404.
func TestConflictRefusesDeliveriesWithItsReason(t *testing.T) {
	f := newHookFixture(t)
	const reason = "workload demo is declared differently by controllers a, b: deliveries refused until they agree"
	f.in.declared = refusing{declared: declared{}, reasons: map[string]string{"demo": reason},
		decls: map[string][]*labels.Workload{"demo": {demo(), {Name: "demo", Image: "127.0.0.1:5000/other"}}}}

	status, reply, raw := f.postDist(distPush("ev-1", "v1", time.Now()))
	if status != http.StatusAccepted || len(reply.Accepted) != 0 || !slices.Equal(reply.Ignored, []string{reason}) {
		t.Fatalf("push during the conflict: %d %s, want 202 ignored with the conflict", status, raw)
	}
	hist := f.history("demo")
	if !slices.ContainsFunc(hist, func(ev deployer.Event) bool { return ev.Outcome == OutcomeIgnored+": "+reason }) {
		t.Fatalf("demo's history = %+v, want the refusal with its reason", hist)
	}
	if !strings.Contains(f.logs.String(), reason) {
		t.Error("no log line gives the reason")
	}

	auth := map[string]string{"Authorization": "Bearer " + testAPIToken, "Content-Type": "application/json"}
	status, _, raw = f.post("/v1/deploy", []byte(`{"workload":"demo","tag":"v1"}`), auth)
	if status != http.StatusNotFound || !strings.Contains(raw, reason) {
		t.Fatalf("deploy API by workload: %d %s, want 404 with the conflict", status, raw)
	}
	if !slices.ContainsFunc(f.global(), func(ev deployer.Event) bool { return strings.Contains(ev.Outcome, reason) }) {
		t.Error("the refused deploy API request is not recorded with its reason")
	}
	status, reply, raw = f.post("/v1/deploy", []byte(`{"image":"127.0.0.1:5000/other","tag":"v1"}`), auth)
	if status != http.StatusAccepted || !slices.Equal(reply.Ignored, []string{reason}) {
		t.Fatalf("deploy API by the other declaration's image: %d %s, want 202 ignored with the conflict", status, raw)
	}

	// A push of an image no declaration uses is still "no workload".
	status, reply, _ = f.post("/v1/deploy", []byte(`{"image":"127.0.0.1:5000/unrelated","tag":"v1"}`), auth)
	if status != http.StatusNotFound {
		t.Fatalf("unrelated image: %d %v, want 404", status, reply)
	}
	if n := len(f.deployedNow()); n != 0 {
		t.Fatalf("%d deploys during the conflict", n)
	}
}
