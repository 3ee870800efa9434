package overview

import (
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

func TestServingFollowsRoutesThenNewestRunning(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	w := &Workload{Instances: []deployer.Instance{
		{ID: "old", State: deployer.StateRunning, Created: t0},
		{ID: "new", State: deployer.StateRunning, Created: t0.Add(time.Minute)},
		{ID: "dead", State: deployer.StateExited, Created: t0.Add(time.Hour)},
	}}
	if in, ok := w.Serving(); !ok || in.ID != "new" {
		t.Errorf("without routes: %s %v, want new", in.ID, ok)
	}
	w.Routes = []deployer.Route{{Host: "a", Container: "old"}}
	if in, ok := w.Serving(); !ok || in.ID != "old" {
		t.Errorf("routed to old: %s %v", in.ID, ok)
	}
	if _, ok := (&Workload{}).Serving(); ok {
		t.Error("nothing runs, yet something serves")
	}
}

// The overview names the instance the deployer's rule names: a routed
// instance that stopped does not serve (the newest running one does, and
// the reconcile pass re-points the routes at it), and of two routed
// running instances the newer serves, whatever the order of the routes.
func TestServingIsTheDeployersRule(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	w := &Workload{
		Instances: []deployer.Instance{
			{ID: "stopped", Name: "web-v3", State: deployer.StateExited, Created: t0.Add(time.Hour)},
			{ID: "old", Name: "web-v1", State: deployer.StateRunning, Created: t0},
			{ID: "new", Name: "web-v2", State: deployer.StateRunning, Created: t0.Add(time.Minute)},
		},
		Routes: []deployer.Route{{Host: "a", Container: "stopped"}},
	}
	if in, ok := w.Serving(); !ok || in.ID != "new" {
		t.Errorf("routed instance stopped: %s %v, want new (the newest running)", in.ID, ok)
	}
	w.Routes = []deployer.Route{{Host: "a", Container: "old"}, {Host: "b", Container: "new"}}
	if in, ok := w.Serving(); !ok || in.ID != "new" {
		t.Errorf("routes at old and new: %s %v, want new (the newer)", in.ID, ok)
	}
	w.Instances[0].State = deployer.StateMissing
	w.Routes = []deployer.Route{{Host: "a", Container: "stopped"}}
	w.Instances = w.Instances[:1]
	if in, ok := w.Serving(); ok {
		t.Errorf("only a routed instance that is gone: %s serves", in.ID)
	}
}

func TestRouteURLAgeShortDigest(t *testing.T) {
	if u := RouteURL(deployer.Route{Host: "a.test", TLS: true}); u != "https://a.test" {
		t.Error(u)
	}
	if u := RouteURL(deployer.Route{Host: "a.test"}); u != "http://a.test" {
		t.Error(u)
	}
	now := time.Unix(1700000000, 0)
	for d, want := range map[time.Duration]string{42 * time.Second: "42s", 5*time.Minute + 3*time.Second: "5m", 3 * time.Hour: "3h", 72 * time.Hour: "3d"} {
		if got := Age(now.Add(-d), now); got != want {
			t.Errorf("Age(%v) = %s, want %s", d, got, want)
		}
	}
	if Age(time.Time{}, now) != "-" || ShortDigest("sha256:0123456789abcdef") != "sha256:0123456789ab" {
		t.Error("zero age or short digest")
	}
}
