package deployer

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

// queued runs f's engine behind a Queue, as the sidecar does, and returns
// the queue and a channel of each finished deploy's result.
func (f *fixture) queued(t *testing.T) (*Queue, <-chan Result) {
	results := make(chan Result, 16)
	var closing atomic.Bool
	q := NewQueue(func(ctx context.Context, r Request) {
		res, err := f.engine.Deploy(ctx, f.w, r)
		if err != nil && !closing.Load() { // the last deploy is cut in its watch at the end
			t.Errorf("deploy %s: %v", r.Tag, err)
		}
		results <- res
	})
	t.Cleanup(func() { closing.Store(true); q.Close(10 * time.Millisecond); f.engine.Close() })
	return q, results
}

func TestNewerRequestEndsTheWatchAndRollbackStillTargetsTheSupersededDeploy(t *testing.T) {
	f := newFixture(t)
	f.engine.Watch, f.engine.WatchInterval = time.Minute, 5*time.Millisecond
	q, results := f.queued(t)
	switched := make(chan string, 4)
	f.engine.AtStep = func(_ context.Context, step string) {
		if step == StepSwitched {
			switched <- step
		}
	}
	submit := func(tag string) {
		if err := q.Submit(Request{Workload: "web", Tag: tag, Digest: "sha256:" + tag, Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}

	submit("v1")
	<-switched
	start := time.Now()
	submit("v2") // v1 is in its one-minute watch: v2 ends it
	v1 := <-results
	<-switched
	submit("v3")
	v2 := <-results
	<-switched
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("v2 and v3 switched %s after v2 was queued: they waited for a watch", took)
	}
	if v1.Digest != "sha256:v1" || v2.Digest != "sha256:v2" {
		t.Fatalf("results %+v, %+v", v1, v2)
	}
	routed := f.routedContainers()
	if len(routed) != 1 {
		t.Fatalf("routes on %v, want one container", routed)
	}

	evs := Deploys(f.store.events["web"])
	if len(evs) != 2 {
		t.Fatalf("history %+v, want v1 and v2 recorded (v3 still in its watch)", evs)
	}
	for i, ev := range evs {
		if ev.Outcome != OutcomeDeployed || !strings.HasPrefix(ev.Watch, "superseded after ") {
			t.Fatalf("event %d = %+v, want deployed with the watch superseded", i, ev)
		}
	}
	// A superseded deploy switched, committed and served: a rollback from
	// v3 goes back to it, not past it.
	newestFirst := slices.Clone(evs)
	slices.Reverse(newestFirst)
	if target, ok := RollbackTarget(newestFirst, "sha256:v3"); !ok || target.Digest != "sha256:v2" {
		t.Fatalf("rollback target from v3 = %+v %v, want v2", target, ok)
	}
}

func TestARedeliveryDoesNotEndTheWatch(t *testing.T) {
	ran := make(chan context.Context, 4)
	release := make(chan struct{})
	q := NewQueue(func(ctx context.Context, r Request) { ran <- ctx; <-release })
	defer q.Close(time.Second)
	r := Request{Workload: "web", Tag: "v1", Digest: "sha256:1", Source: "distribution"}
	_ = q.Submit(r)
	ctx := <-ran
	_ = q.Submit(r) // the same push, delivered again
	select {
	case <-Superseded(ctx):
		t.Fatal("a redelivery of the running request superseded it")
	case <-time.After(20 * time.Millisecond):
	}
	r.Digest = "sha256:2"
	_ = q.Submit(r)
	select {
	case <-Superseded(ctx):
	case <-time.After(5 * time.Second):
		t.Fatal("a newer push did not supersede the running deploy")
	}
	close(release)
}

func TestDrainRunsOffTheCriticalPath(t *testing.T) {
	f := newFixture(t)
	f.engine.Drain = 300 * time.Millisecond
	defer f.engine.Close()
	v1 := f.mustDeploy(t, "v1")
	start := time.Now()
	v2, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	v3, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v3"})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= f.engine.Drain {
		t.Fatalf("two deploys took %s: they waited for the %s drain", took, f.engine.Drain)
	}
	f.docker.mu.Lock()
	old := f.docker.containers[v1.Container]
	stillUp := old != nil && old.Running
	f.docker.mu.Unlock()
	if !stillUp {
		t.Fatal("v1 stopped before its drain time")
	}
	if js, _ := f.coord.Journals(context.Background()); len(js) != 2 {
		t.Fatalf("journals %+v, want the two pending drains", js)
	}
	f.drained(f.engine)
	f.checkConverged(t, v3.Container)
	if f.docker.calls["Stop"] != 2 {
		t.Fatalf("%d stops, want v1 and v2 stopped before removal", f.docker.calls["Stop"])
	}
	_ = v2
}

func TestDrainsHonourMaxInstances(t *testing.T) {
	f := newFixture(t)
	f.w.MaxInstances = 2
	defer f.engine.Close()
	var ids []string
	for _, tag := range []string{"v1", "v2", "v3", "v4"} {
		res, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: tag})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Container)
	}
	f.drained(f.engine)
	if len(f.docker.containers) != 2 || f.docker.containers[ids[2]] == nil || f.docker.containers[ids[3]] == nil {
		t.Fatalf("containers %v, want v3 and v4 (maxInstances 2)", f.docker.containers)
	}
	if got := f.routedContainers(); len(got) != 1 || !got[ids[3]] {
		t.Fatalf("routes on %v, want v4", got)
	}
	if len(f.store.instances) != 2 {
		t.Fatalf("records %v, want v3 and v4", f.store.instances)
	}
}

func TestCrashDuringTheDrainLeavesNothingBehind(t *testing.T) {
	f := newFixture(t)
	v1 := f.mustDeploy(t, "v1")
	crashed := f.engine
	reached, release := blockAt(crashed, StepWatched)
	done := f.deployAsync(crashed, "v2")
	<-reached
	js, _ := f.coord.Journals(context.Background())
	if len(js) != 1 || js[0].Step != StepWatched || !js[0].Recorded {
		t.Fatalf("journals %+v, want the recorded deploy's drain", js)
	}
	v2 := js[0].Container

	// The sidecar restarts under the same name: the reconcile pass takes
	// the drain over at once, in the background.
	f.clock.Advance(DefaultLockTTL + time.Second)
	restarted := f.newEngine("a")
	defer restarted.Close()
	if _, err := restarted.Sync(context.Background(), map[string]*labels.Workload{"web": f.w}); err != nil {
		t.Fatal(err)
	}
	f.drained(restarted)
	f.checkConverged(t, v2)
	if f.docker.containers[v1.Container] != nil {
		t.Fatal("v1 left behind")
	}
	deployed := 0
	for _, ev := range f.store.events["web"] {
		if ev.Tag == "v2" && ev.Outcome == OutcomeDeployed {
			deployed++
		}
	}
	if deployed != 1 {
		t.Fatalf("v2 recorded %d times as deployed, want once", deployed)
	}

	release()
	<-done
	f.drained(crashed)
	f.checkConverged(t, v2)
}

func TestADrainCutShortAtShutdownIsFinishedByTheNextStart(t *testing.T) {
	f := newFixture(t)
	f.engine.Drain = time.Hour
	f.mustDeploy(t, "v1")
	v2, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	f.engine.Close() // shutdown while v1 drains
	if len(f.docker.containers) != 2 {
		t.Fatalf("containers %v after the shutdown, want v1 still there", f.docker.containers)
	}
	if js, _ := f.coord.Journals(context.Background()); len(js) != 1 {
		t.Fatalf("journals %+v, want the unfinished drain kept", js)
	}
	f.clock.Advance(time.Hour)
	next := f.newEngine("a")
	defer next.Close()
	if _, err := next.Sync(context.Background(), map[string]*labels.Workload{"web": f.w}); err != nil {
		t.Fatal(err)
	}
	f.drained(next)
	f.checkConverged(t, v2.Container)
}

func TestAnotherSidecarsDrainIsTakenOverOnlyWhenOverdue(t *testing.T) {
	f := newFixture(t)
	f.engine.Drain = time.Hour
	f.mustDeploy(t, "v1")
	v2, err := f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	f.engine.Close()
	other := f.newEngine("b")
	defer other.Close()
	sync := func() {
		if _, err := other.Sync(context.Background(), map[string]*labels.Workload{"web": f.w}); err != nil {
			t.Fatal(err)
		}
		f.drained(other)
	}
	sync()
	if len(f.docker.containers) != 2 {
		t.Fatalf("containers %v: b retired a drain a live sidecar owns", f.docker.containers)
	}
	f.clock.Advance(time.Hour + 10*time.Second + drainTakeover + time.Second)
	sync()
	f.checkConverged(t, v2.Container)
}

func TestRetired(t *testing.T) {
	c := func(id string, created int64) Container {
		return Container{ID: id, Name: id, Created: time.Unix(created, 0)}
	}
	all := []Container{c("a", 1), c("b", 2), c("k", 3), c("newer", 4)}
	on := func(id string) []Route { return []Route{{ID: "r", Container: id}} }
	ids := func(cs []Container) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name   string
		routes []Route
		keep   int
		want   []string
	}{
		{"older ones go, a newer deploy's stays", on("k"), 1, []string{"a", "b"}},
		{"maxInstances 2 keeps the newest older one", on("k"), 2, []string{"a"}},
		{"a routed one stays", on("b"), 1, []string{"a"}},
	}
	for _, tc := range cases {
		if got := ids(Retired(all, tc.routes, "k", tc.keep)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Retired = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := Retired(all, nil, "gone", 1); len(got) != 0 {
		t.Errorf("Retired with the deploy's container gone = %v, want nothing", ids(got))
	}
}
