package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

func TestLocalCoordinatorFences(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Unix(0, 0)}
	c := NewLocalCoordinator(newMemStore(), clock.Now)

	a, ok, err := c.TryLock(ctx, "web", "a", time.Second)
	if err != nil || !ok || a.Epoch != 1 {
		t.Fatalf("first lock = %+v %v %v", a, ok, err)
	}
	if _, ok, _ := c.TryLock(ctx, "web", "b", time.Second); ok {
		t.Fatal("lock granted twice")
	}
	if _, ok, _ := c.TryLock(ctx, "api", "b", time.Second); !ok {
		t.Fatal("locks of different workloads are independent")
	}
	// Expired with no newer grant: the holder may take it back.
	clock.Advance(2 * time.Second)
	if err := c.Renew(ctx, a, time.Second); err != nil {
		t.Fatalf("renew after expiry with no newer lease: %v", err)
	}
	clock.Advance(2 * time.Second)
	b, ok, _ := c.TryLock(ctx, "web", "b", time.Second)
	if !ok || b.Epoch != 2 {
		t.Fatalf("lock after expiry = %+v %v, want epoch 2", b, ok)
	}
	if err := c.Commit(ctx, a, Writes{Routes: []Route{{ID: "r", Workload: "web"}}}); !errors.Is(err, ErrFenced) {
		t.Fatalf("commit with the older lease = %v, want ErrFenced", err)
	}
	if err := c.Renew(ctx, a, time.Second); !errors.Is(err, ErrLockLost) {
		t.Fatalf("renew of the older lease = %v, want ErrLockLost", err)
	}
	if err := c.Unlock(ctx, a); err != nil { // compare-and-delete: b keeps it
		t.Fatal(err)
	}
	if _, ok, _ := c.TryLock(ctx, "web", "c", time.Second); ok {
		t.Fatal("stale unlock released the newer lease")
	}
	if err := c.Commit(ctx, b, Writes{Routes: []Route{{ID: "r", Workload: "web"}}}); err != nil {
		t.Fatalf("commit with the newest lease: %v", err)
	}
}

func TestDeployJournalsEveryStepAndRecordsHistory(t *testing.T) {
	f := newFixture(t)
	f.mustDeploy(t, "v1")
	var steps []string
	f.engine.AtStep = func(_ context.Context, step string) {
		steps = append(steps, step)
		js, _ := f.coord.Journals(context.Background())
		if len(js) != 1 || js[0].Step != step {
			t.Errorf("at %s journals = %+v", step, js)
		}
	}
	res := f.mustDeploy(t, "v2")
	want := []string{StepLocked, StepPulled, StepCreated, StepStarted, StepHealthy, StepSwitching, StepSwitched, StepWatched}
	if !slices.Equal(steps, want) {
		t.Fatalf("steps = %v, want %v", steps, want)
	}
	if js, _ := f.coord.Journals(context.Background()); len(js) != 0 {
		t.Fatalf("journal left open after a finished deploy: %+v", js)
	}
	evs := f.store.events["web"]
	ev := evs[len(evs)-1]
	// The outcome is recorded just before the last step, the hand-off of
	// the drain: its steps end at "switched".
	if ev.Outcome != OutcomeDeployed || ev.Epoch != res.Epoch || ev.Owner != "a" || ev.Tag != "v2" ||
		ev.Started.IsZero() || !ev.Started.Before(ev.Time) || len(ev.Steps) != len(want)-1 || ev.Previous == "" || ev.Watch != "off" {
		t.Fatalf("history event = %+v", ev)
	}
}

// blockAt makes e's deploys stop at step until the returned release is
// called: a sidecar frozen (SIGSTOP, GC pause, crash) at that boundary.
func blockAt(e *Engine, step string) (reached <-chan struct{}, release func()) {
	r, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.AtStep = func(_ context.Context, s string) {
		if s == step {
			once.Do(func() { close(r) })
			<-gate
		}
	}
	return r, func() { close(gate) }
}

// deployAsync runs a deploy of tag on e in the background.
func (f *fixture) deployAsync(e *Engine, tag string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := e.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: tag})
		done <- err
	}()
	return done
}

func (f *fixture) routedContainers() map[string]bool {
	f.proxy.mu.Lock()
	defer f.proxy.mu.Unlock()
	out := map[string]bool{}
	for _, r := range f.proxy.routes {
		out[r.Container] = true
	}
	return out
}

func TestStaleLeaseCannotSwitch(t *testing.T) {
	// "switching" freezes after the fence check and before the proxy
	// writes: the stale holder then writes the proxy, its record is
	// refused, and it must put the newer holder's routes back.
	for _, step := range []string{StepHealthy, StepSwitching} {
		t.Run(step, func(t *testing.T) {
			f := newFixture(t)
			f.mustDeploy(t, "v1")
			stale := f.engine
			reached, release := blockAt(stale, step)
			done := f.deployAsync(stale, "v2")
			<-reached

			// The frozen holder's lock expires; another sidecar deploys v3.
			f.clock.Advance(DefaultLockTTL + time.Second)
			fresh := f.newEngine("b")
			v3, err := fresh.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v3"})
			if err != nil {
				t.Fatal(err)
			}
			release()
			if err := <-done; !errors.Is(err, ErrFenced) {
				t.Fatalf("stale deploy = %v, want ErrFenced", err)
			}
			f.drained(fresh)
			if got := f.routedContainers(); len(got) != 1 || !got[v3.Container] {
				t.Fatalf("proxy routes to %v, want only v3 %s", got, v3.Container)
			}
			for _, r := range f.store.routes {
				if r.Container != v3.Container {
					t.Fatalf("stored route %+v not on v3", r)
				}
			}
			if n := len(f.docker.containers); n != 1 || f.docker.containers[v3.Container] == nil {
				t.Fatalf("containers = %v, want only v3", f.docker.containers)
			}
			evs := f.store.events["web"]
			if last := evs[len(evs)-1]; !strings.Contains(last.Outcome, "fenced") {
				t.Fatalf("stale deploy recorded %q, want a fenced failure", last.Outcome)
			}
		})
	}
}

func TestDeployWindowsOfTwoEnginesNeverOverlap(t *testing.T) {
	f := newFixture(t)
	engines := []*Engine{f.engine, f.newEngine("b")}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			e := engines[i%2]
			_, err := e.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: fmt.Sprint("v", i%5)})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f.drained(engines[0])
	f.drained(engines[1])
	evs := slices.Clone(f.store.events["web"])
	slices.SortFunc(evs, func(a, b Event) int { return a.Started.Compare(b.Started) })
	for i := 1; i < len(evs); i++ {
		if evs[i].Started.Before(evs[i-1].Time) {
			t.Fatalf("deploy %s [%s, %s] overlaps %s [%s, %s]", evs[i].Deploy, evs[i].Started, evs[i].Time,
				evs[i-1].Deploy, evs[i-1].Started, evs[i-1].Time)
		}
		if evs[i].Epoch <= evs[i-1].Epoch {
			t.Fatalf("epochs do not grow: %d after %d", evs[i].Epoch, evs[i-1].Epoch)
		}
	}
	if len(evs) < 5 {
		t.Fatalf("%d deploys recorded, want at least one per tag", len(evs))
	}
	if len(f.docker.containers) != 1 {
		t.Fatalf("%d containers after the storm, want 1", len(f.docker.containers))
	}
}

func TestWatchFailureRollsBackToTheRunningPrevious(t *testing.T) {
	cases := map[string]func(f *fixture, newID string){
		"die event": func(f *fixture, id string) { f.docker.emit(id, "die") },
		"unhealthy event": func(f *fixture, id string) {
			f.docker.emit(id, "health_status: unhealthy")
		},
		"exited": func(f *fixture, id string) {
			f.docker.set(id, func(c *Container) { c.Running, c.State = false, "exited" })
		},
		"restarted": func(f *fixture, id string) { f.docker.set(id, func(c *Container) { c.Restarts++ }) },
		"health path fails": func(f *fixture, id string) {
			ip := f.docker.containers[id].IPs["net"]
			f.health = func(_ context.Context, url string) error {
				if strings.Contains(url, ip+":") {
					return ErrUnhealthy
				}
				return nil
			}
		},
	}
	for name, fail := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			v1 := f.mustDeploy(t, "v1")
			f.engine.Watch, f.engine.WatchInterval = 5*time.Second, 5*time.Millisecond
			f.engine.AtStep = func(_ context.Context, step string) {
				if step != StepSwitched {
					return
				}
				if c := f.docker.containers[v1.Container]; c == nil || !c.Running {
					t.Error("old container not running when the watch starts")
				}
				f.docker.mu.Lock()
				newID := fmt.Sprintf("c%d", f.docker.seq)
				f.docker.mu.Unlock()
				fail(f, newID)
			}
			res, err := f.deploy(t, "v2")
			if !errors.Is(err, ErrWatchFailed) || !res.RolledBack {
				t.Fatalf("deploy = %+v, %v; want a rolled-back watch failure", res, err)
			}
			if got := f.routedContainers(); len(got) != 1 || !got[v1.Container] {
				t.Fatalf("routes on %v, want back on v1", got)
			}
			if len(f.docker.containers) != 1 || !f.docker.containers[v1.Container].Running {
				t.Fatalf("containers %v, want v1 alone and running", f.docker.containers)
			}
			if _, ok := f.store.instances[res.Container]; ok {
				t.Fatal("record of the failed container kept")
			}
			evs := f.store.events["web"]
			if last := evs[len(evs)-1]; !strings.HasPrefix(last.Outcome, OutcomeRolledBack) {
				t.Fatalf("outcome %q, want rolled back", last.Outcome)
			}
			if js, _ := f.coord.Journals(context.Background()); len(js) != 0 {
				t.Fatalf("journal left open: %+v", js)
			}
		})
	}
}

func TestWatchPassesAndOldStaysUpUntilThen(t *testing.T) {
	f := newFixture(t)
	v1 := f.mustDeploy(t, "v1")
	f.engine.Watch, f.engine.WatchInterval = 30*time.Millisecond, 5*time.Millisecond
	probes := 0
	f.health = func(context.Context, string) error {
		probes++
		if c := f.docker.containers[v1.Container]; c == nil || !c.Running {
			t.Error("old container stopped during the watch")
		}
		return nil
	}
	v2 := f.mustDeploy(t, "v2")
	if probes < 2 {
		t.Fatalf("%d health probes, want the watch to probe", probes)
	}
	if len(f.docker.containers) != 1 || f.docker.containers[v2.Container] == nil {
		t.Fatalf("containers %v, want only v2 after the watch", f.docker.containers)
	}
}

func TestWatchFailureOnFirstDeployKeepsItsRoutes(t *testing.T) {
	f := newFixture(t)
	f.engine.Watch, f.engine.WatchInterval = time.Second, 5*time.Millisecond
	f.engine.AtStep = func(_ context.Context, step string) {
		if step == StepSwitched {
			f.docker.emit("c1", "die")
		}
	}
	res, err := f.deploy(t, "v1")
	if !errors.Is(err, ErrWatchFailed) || res.RolledBack {
		t.Fatalf("deploy = %+v, %v", res, err)
	}
	if got := f.routedContainers(); !got[res.Container] {
		t.Fatal("routes of the only container dropped")
	}
	evs := f.store.events["web"]
	if last := evs[len(evs)-1]; !strings.HasPrefix(last.Outcome, OutcomeFailed) {
		t.Fatalf("outcome %q, want failed", last.Outcome)
	}
}

func TestRecoveryAtEachStep(t *testing.T) {
	// StepWatched is no interrupted deploy but a drain: see
	// TestCrashDuringTheDrainLeavesNothingBehind.
	for _, step := range []string{StepLocked, StepPulled, StepCreated, StepStarted, StepHealthy, StepSwitching, StepSwitched} {
		t.Run(step, func(t *testing.T) {
			f := newFixture(t)
			v1 := f.mustDeploy(t, "v1")
			crashed := f.engine
			reached, release := blockAt(crashed, step)
			done := f.deployAsync(crashed, "v2")
			<-reached
			journals, _ := f.coord.Journals(context.Background())
			newID := journals[0].Container

			// A restarted sidecar: nothing happens while the lock lives...
			restarted := f.newEngine("a2")
			rep, err := restarted.Sync(context.Background(), map[string]*labels.Workload{"web": f.w})
			if err != nil || rep.Recovered != 0 || !slices.Contains(rep.Busy, "web") {
				t.Fatalf("sync under a live lock = %+v, %v", rep, err)
			}
			// ...and once it expired, one pass finishes or undoes the deploy.
			f.clock.Advance(DefaultLockTTL + time.Second)
			rep, err = restarted.Sync(context.Background(), map[string]*labels.Workload{"web": f.w})
			if err != nil || rep.Recovered != 1 {
				t.Fatalf("sync after expiry = %+v, %v", rep, err)
			}
			want, outcome := v1.Container, OutcomeRolledBack
			if !beforeSwitch(step) {
				want, outcome = newID, OutcomeDeployed
			}
			f.checkConverged(t, want)
			evs := f.store.events["web"]
			if last := evs[len(evs)-1]; !strings.HasPrefix(last.Outcome, outcome) || !strings.Contains(last.Note, step) {
				t.Fatalf("recovery recorded %+v, want %q noting step %s", last, outcome, step)
			}

			// The frozen deploy wakes up: fenced, it changes nothing.
			release()
			if err := <-done; err == nil {
				t.Fatal("the frozen deploy succeeded after recovery")
			}
			f.checkConverged(t, want)
		})
	}
}

// checkConverged asserts one container, routed at the proxy and in the
// store, with records equal to Docker and no open journal.
func (f *fixture) checkConverged(t *testing.T, want string) {
	t.Helper()
	if len(f.docker.containers) != 1 || f.docker.containers[want] == nil || !f.docker.containers[want].Running {
		t.Fatalf("containers = %v, want only %s running", f.docker.containers, want)
	}
	if got := f.routedContainers(); len(got) != 1 || !got[want] {
		t.Fatalf("proxy routes to %v, want %s", got, want)
	}
	for _, r := range f.store.routes {
		if r.Container != want {
			t.Fatalf("stored route %+v, want on %s", r, want)
		}
	}
	if len(f.store.instances) != 1 || f.store.instances[want].ID != want {
		t.Fatalf("records = %v, want only %s", f.store.instances, want)
	}
	if js, _ := f.coord.Journals(context.Background()); len(js) != 0 {
		t.Fatalf("journal left open: %+v", js)
	}
}

func TestPlanRecovery(t *testing.T) {
	running := func(id string) Container { return Container{ID: id, Running: true, State: "running"} }
	stopped := func(id string) Container { return Container{ID: id, State: "exited"} }
	j := func(step string) Journal {
		return Journal{ID: "d2", Step: step, Container: "new", Previous: []Route{{ID: "r", Container: "old"}}}
	}
	on := func(id string) []Route { return []Route{{ID: "r", Container: id}} }
	cases := []struct {
		name   string
		j      Journal
		cs     []Container
		routes []Route
		want   string
	}{
		{"before the switch", j(StepHealthy), []Container{running("old"), running("new")}, on("old"), RecoverUndo},
		{"created, id not journaled", Journal{ID: "d2", Step: StepPulled}, []Container{running("old")}, on("old"), RecoverUndo},
		{"mid-switch, new running", j(StepSwitching), []Container{running("old"), running("new")}, on("old"), RecoverForward},
		{"switched, new running", j(StepSwitched), []Container{running("old"), running("new")}, on("new"), RecoverForward},
		{"switched, new found by label", Journal{ID: "d2", Step: StepSwitched, Previous: on("old")},
			[]Container{running("old"), {ID: "new", Running: true, Labels: map[string]string{labels.ManagedDeploy: "d2"}}}, on("new"), RecoverForward},
		{"switched, new died", j(StepSwitched), []Container{running("old"), stopped("new")}, on("new"), RecoverBack},
		{"switched, new gone", j(StepWatched), []Container{running("old")}, on("new"), RecoverBack},
		{"switched, both down", j(StepSwitched), []Container{stopped("old"), stopped("new")}, on("new"), RecoverStuck},
		{"a later deploy switched since", j(StepSwitched), []Container{running("newer"), running("new")}, on("newer"), RecoverObsolete},
	}
	for _, c := range cases {
		if got := PlanRecovery(c.j, c.cs, c.routes); got != c.want {
			t.Errorf("%s: PlanRecovery = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestRollbackTarget(t *testing.T) {
	ev := func(outcome, digest string) Event {
		return Event{Outcome: outcome, Digest: digest, Image: "reg/web:" + digest}
	}
	history := []Event{ // newest first
		ev(OutcomeFailed+"x", "d4"),
		ev(OutcomeDeployed, "d3"),
		ev(OutcomeRolledBack+"watch", "d9"),
		ev(OutcomeDeployed, "d3"),
		ev(OutcomeDeployed, "d2"),
		ev(OutcomeDeployed, "d1"),
	}
	cases := []struct {
		current, want string
		ok            bool
	}{
		{"", "d2", true},   // current = newest good (d3): go back one
		{"d3", "d2", true}, // same, known
		{"d2", "d3", true}, // after a rollback to d2, the next one goes back to d3
		{"d1", "d3", true},
	}
	for _, c := range cases {
		got, ok := RollbackTarget(history, c.current)
		if ok != c.ok || got.Digest != c.want {
			t.Errorf("RollbackTarget(current=%q) = %s %v, want %s", c.current, got.Digest, ok, c.want)
		}
	}
	if _, ok := RollbackTarget([]Event{ev(OutcomeDeployed, "d1")}, ""); ok {
		t.Error("rollback target found with a single good deploy")
	}
	req := RollbackRequest("web", Event{Image: "reg:5000/web:v2", Digest: "sha256:x"})
	if req.Tag != "v2" || req.Digest != "sha256:x" || req.Source != "rollback" {
		t.Errorf("RollbackRequest = %+v", req)
	}
}

func TestRollbackDeploysByDigest(t *testing.T) {
	f := newFixture(t)
	res, err := f.engine.Deploy(context.Background(), f.w, RollbackRequest("web", Event{Image: "reg.local/web:v1", Digest: "sha256:abc"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.docker.pulls[len(f.docker.pulls)-1]; got != "reg.local/web@sha256:abc" {
		t.Fatalf("pulled %q, want by digest", got)
	}
	if c := f.docker.containers[res.Container]; c.Image != "reg.local/web@sha256:abc" || c.Labels[labels.ManagedImage] != "reg.local/web:v1" {
		t.Fatalf("container = %+v", c)
	}
}

func TestDeployAfterACrashSettlesTheCrashedDeployFirst(t *testing.T) {
	f := newFixture(t)
	f.mustDeploy(t, "v1")
	reached, release := blockAt(f.engine, StepHealthy)
	done := f.deployAsync(f.engine, "v2")
	<-reached
	f.clock.Advance(DefaultLockTTL + time.Second)

	b := f.newEngine("b")
	v3, err := b.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: "v3"})
	if err != nil {
		t.Fatal(err)
	}
	f.drained(b)
	evs := f.store.events["web"]
	if len(evs) != 3 || !strings.Contains(evs[1].Note, `step "healthy"`) || evs[2].Tag != "v3" {
		t.Fatalf("history = %+v, want v1, the recovered v2, v3", evs)
	}
	f.checkConverged(t, v3.Container)
	release()
	<-done
	f.checkConverged(t, v3.Container)
}
