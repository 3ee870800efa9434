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
