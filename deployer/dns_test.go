package deployer

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeNames records what the deployer asks of DNS, and what the proxy
// served when it asked.
type fakeNames struct {
	mu    sync.Mutex
	proxy *fakeProxy
	note  string
	calls []string
	live  []string // hosts the proxy already routed when Ensure was called
}

func (n *fakeNames) record(op, workload string, hosts []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := slices.Clone(hosts)
	slices.Sort(h)
	n.calls = append(n.calls, op+" "+workload+" "+strings.Join(h, ","))
}

func (n *fakeNames) Ensure(_ context.Context, workload string, hosts []string) string {
	n.record("ensure", workload, hosts)
	n.proxy.mu.Lock()
	for _, r := range n.proxy.routes {
		if slices.Contains(hosts, r.Host) && r.Workload == workload {
			n.live = append(n.live, r.Host+"->"+r.Container)
		}
	}
	n.proxy.mu.Unlock()
	return n.note
}

func (n *fakeNames) Drop(_ context.Context, workload string, hosts []string) {
	n.record("drop", workload, hosts)
}

func (n *fakeNames) Teardown(_ context.Context, workload string, hosts []string) {
	n.record("teardown", workload, hosts)
}

func withNames(f *fixture) *fakeNames {
	n := &fakeNames{proxy: f.proxy}
	f.engine.Names = n
	return n
}

func TestRecordsAreEnsuredBeforeTheRoutesGoLive(t *testing.T) {
	f := newFixture(t)
	n := withNames(f)
	n.note = "www.example.com: record not in place, retried in the background: dns change refused"
	res := f.mustDeploy(t, "v1")

	if !slices.Equal(n.calls, []string{"ensure web api.example.com,www.example.com"}) {
		t.Fatalf("calls = %v", n.calls)
	}
	if len(n.live) != 0 {
		t.Fatalf("routes already live when the records were ensured: %v", n.live)
	}
	// A record not in place costs no traffic: the deploy goes on, and its
	// history says so.
	if got := f.upstreams(); len(got) != 2 {
		t.Fatalf("routes = %v, want both faces served", got)
	}
	ev := f.store.events["web"][0]
	if ev.Outcome != OutcomeDeployed || ev.Container == "" || res.Noop {
		t.Fatalf("event = %+v", ev)
	}
	i := slices.IndexFunc(ev.Steps, func(s StepTime) bool { return s.Step == StepDNS })
	if i < 0 || ev.Steps[i].Note != n.note || ev.Steps[i+1].Step != StepSwitching {
		t.Fatalf("steps = %+v, want a dns step with the note right before switching", ev.Steps)
	}

	// A redeploy asks again (a read when in place), while the old
	// container still serves.
	n.note = ""
	f.mustDeploy(t, "v2")
	if len(n.calls) != 2 || len(n.live) != 2 || !strings.Contains(n.live[0], res.Container) {
		t.Fatalf("calls %v, live at ensure %v: want the second ensure while v1 serves", n.calls, n.live)
	}
}

func TestOptedOutAndRemovedFacesDropTheirRecords(t *testing.T) {
	f := newFixture(t)
	n := withNames(f)
	f.mustDeploy(t, "v1")
	f.w.Faces["api"].DNS = new(false)
	f.mustDeploy(t, "v2")
	delete(f.w.Faces, "www")
	f.mustDeploy(t, "v3")
	want := []string{
		"ensure web api.example.com,www.example.com",
		"ensure web www.example.com", "drop web api.example.com",
		// www's route is gone; api's stays, without a record.
		"drop web api.example.com,www.example.com",
	}
	if !slices.Equal(n.calls, want) {
		t.Fatalf("calls =\n%s\nwant\n%s", strings.Join(n.calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestTeardownRemovesTheRecords(t *testing.T) {
	f := newFixture(t)
	n := withNames(f)
	f.mustDeploy(t, "v1")
	if _, err := f.engine.Teardown(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	if last := n.calls[len(n.calls)-1]; last != "teardown web api.example.com,www.example.com" {
		t.Fatalf("calls = %v", n.calls)
	}
}
