package deployer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestContainerNameAndRouteID(t *testing.T) {
	at := time.UnixMilli(1764293712345)
	cases := []struct{ workload, tag, want string }{
		{"web", "v1", "tf-web-v1-1764293712345"},
		{"Web App", "1.2.3_rc", "tf-web-app-1.2.3_rc-1764293712345"},
		{"-x-", "--", "tf-x-x-1764293712345"},
	}
	for _, c := range cases {
		if got := ContainerName(c.workload, c.tag, at); got != c.want {
			t.Errorf("ContainerName(%q, %q) = %q, want %q", c.workload, c.tag, got, c.want)
		}
	}
	if got := RouteID("web", "www/Public"); got != "tf_web__www_2f_50ublic" {
		t.Errorf("RouteID = %q", got)
	}
}

func TestSurplus(t *testing.T) {
	c := func(id string, sec int64) Container { return Container{ID: id, Name: id, Created: time.Unix(sec, 0)} }
	all := []Container{c("old", 1), c("mid", 2), c("newest-by-clock", 9), c("new", 3)}
	cases := []struct {
		keep int
		want []string
	}{
		{0, []string{"newest-by-clock", "mid", "old"}}, // 0 means strict blue-green
		{1, []string{"newest-by-clock", "mid", "old"}},
		{2, []string{"mid", "old"}},
		{9, nil},
	}
	for _, tc := range cases {
		var got []string
		for _, s := range Surplus(all, "new", tc.keep) {
			got = append(got, s.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Surplus(keep=%d) = %v, want %v", tc.keep, got, tc.want)
		}
	}
}

func TestDrift(t *testing.T) {
	instances := []Instance{
		{ID: "a", State: StateRunning, Address: "10.0.0.2"},
		{ID: "b", State: StateRunning, Address: "10.0.0.3"},
		{ID: "c", State: StateRunning, Address: "10.0.0.4"},
		{ID: "gone", State: StateRunning},
		{ID: "gone-before", State: StateMissing},
	}
	containers := []Container{
		{ID: "a", Running: true, State: "running", IPs: map[string]string{"net": "10.0.0.2"}},
		{ID: "b", State: "exited"},
		{ID: "c", Running: true, State: "running", IPs: map[string]string{"net": "10.0.0.9"}},
	}
	got := map[string]Instance{}
	for _, in := range Drift(instances, containers, "net") {
		got[in.ID] = in
	}
	if len(got) != 3 || got["b"].State != StateExited || got["c"].Address != "10.0.0.9" || got["gone"].State != StateMissing {
		t.Fatalf("Drift = %+v", got)
	}
}

func TestQueueSerialisesAndCoalescesPerWorkload(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var ran []string
	var running, maxRunning atomic.Int32
	q := NewQueue(func(_ context.Context, r Request) {
		n := running.Add(1)
		defer running.Add(-1)
		if r.Workload == "web" {
			for {
				m := maxRunning.Load()
				if n <= m || maxRunning.CompareAndSwap(m, n) {
					break
				}
			}
		}
		if r.Tag == "v1" {
			close(started)
			<-release
		}
		mu.Lock()
		ran = append(ran, r.Workload+":"+r.Tag)
		mu.Unlock()
	})
	if err := q.Submit(Request{Workload: "web", Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
	<-started
	for _, tag := range []string{"v2", "v3", "v4"} {
		if err := q.Submit(Request{Workload: "web", Tag: tag}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Submit(Request{Workload: "api", Tag: "x"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return slices.Contains(ran, "api:x") })
	close(release)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return slices.Contains(ran, "web:v4") })
	q.Close(5 * time.Second)

	var web []string
	for _, r := range ran {
		if r != "api:x" {
			web = append(web, r)
		}
	}
	if !slices.Equal(web, []string{"web:v1", "web:v4"}) {
		t.Fatalf("web deploys = %v, want [web:v1 web:v4] (burst coalesced to the newest)", web)
	}
	if maxRunning.Load() > 2 { // web and api may overlap, web with itself never
		t.Fatalf("max concurrent = %d", maxRunning.Load())
	}
	if err := q.Submit(Request{Workload: "web"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close = %v, want ErrClosed", err)
	}
}

func TestQueueCloseCancelsADeployPastGrace(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	q := NewQueue(func(ctx context.Context, _ Request) { close(started); <-ctx.Done(); close(cancelled) })
	_ = q.Submit(Request{Workload: "web"})
	<-started
	q.Close(50 * time.Millisecond)
	select {
	case <-cancelled:
	default:
		t.Fatal("deploy not cancelled after grace")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeploysKeepsDeployRecordsOnly(t *testing.T) {
	history := []Event{
		{Deploy: "d2", Outcome: "deployed"},
		{Delivery: "x", Outcome: "duplicate: already serves"},
		{Outcome: "accepted", Workload: "web"},
		{Deploy: "d1", Outcome: "failed: pull"},
	}
	got := Deploys(history)
	if len(got) != 2 || got[0].Deploy != "d2" || got[1].Deploy != "d1" {
		t.Fatalf("Deploys = %+v", got)
	}
}
