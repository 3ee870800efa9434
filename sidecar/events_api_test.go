package sidecar

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

// TestEventsAPI reads a workload's history and the global stream through
// the management API, with ?n= bounding them.
func TestEventsAPI(t *testing.T) {
	s, _ := newHTTPSidecar(t, secAPIToken, secHookToken)
	url := serve(t, s)
	ctx := context.Background()
	now := time.Now().UTC()
	accepted := deployer.Event{Time: now, Workload: "demo", Outcome: "accepted", Source: "distribution",
		Delivery: "01a21f9a-18a4-729f-a27a-e16ca5bab35e", Image: "127.0.0.1:5000/demo:v1"}
	if err := s.store.AppendEvent(ctx, "demo", accepted); err != nil {
		t.Fatal(err)
	}
	for _, outcome := range []string{"rejected: 401 missing or wrong bearer token", "ignored: no tagged manifest push in the delivery"} {
		if err := s.store.AppendGlobalEvent(ctx, deployer.Event{Time: now, Outcome: outcome, Source: "distribution"}); err != nil {
			t.Fatal(err)
		}
	}
	c := clientFrom("127.0.0.1")
	if code, body := do(t, c, http.MethodGet, url+"/v1/workloads/demo/events", secAPIToken, nil); code != 200 ||
		!strings.Contains(body, `"outcome":"accepted"`) || !strings.Contains(body, `"delivery":"01a21f9a-18a4-729f-a27a-e16ca5bab35e"`) {
		t.Errorf("workload events: %d %s", code, body)
	}
	if code, body := do(t, c, http.MethodGet, url+"/v1/events?n=1", secAPIToken, nil); code != 200 ||
		!strings.Contains(body, "no tagged manifest push") || strings.Contains(body, "rejected") {
		t.Errorf("global events, newest one: %d %s", code, body)
	}
	if code, _ := do(t, c, http.MethodGet, url+"/v1/events?n=-1", secAPIToken, nil); code != 400 {
		t.Errorf("n=-1: %d", code)
	}
}
