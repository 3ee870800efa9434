package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

func (f *fixture) sync(t *testing.T) SyncReport {
	t.Helper()
	rep, err := f.engine.Sync(context.Background(), map[string]*labels.Workload{"web": f.w})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return rep
}

func TestSyncRebuildsStateAfterTheStoreLostEverything(t *testing.T) {
	f := newFixture(t)
	v1 := f.mustDeploy(t, "v1")
	before := f.upstreams()
	upserts := f.proxy.upserts

	// Redis flushed: records, routes, locks and journals gone.
	f.store.wipe()
	f.coord = NewLocalCoordinator(f.store, f.clock.Now)
	f.engine = f.newEngine("a")

	rep := f.sync(t)
	if rep.Adopted != 1 || rep.Rerouted != 2 {
		t.Fatalf("report = %+v, want 1 adopted, 2 routes rebuilt", rep)
	}
	in := f.store.instances[v1.Container]
	if in.Workload != "web" || in.Image != "reg.local/web:v1" || in.Tag != "v1" || in.State != StateRunning || in.Address == "" {
		t.Fatalf("adopted record = %+v", in)
	}
	if got := f.upstreams(); !equalMaps(got, before) {
		t.Fatalf("routes = %v, want the same as before %v", got, before)
	}
	if len(f.store.routes) != 2 {
		t.Fatalf("stored routes = %v", f.store.routes)
	}
	if f.proxy.upserts != upserts+2 {
		t.Fatalf("%d upserts, want the 2 routes re-asserted once", f.proxy.upserts-upserts)
	}
	if rep := f.sync(t); rep.Changed+rep.Adopted+rep.Rerouted+rep.Recovered != 0 {
		t.Fatalf("second pass = %+v, want nothing to do", rep)
	}
}

func TestSyncFollowsANewAddress(t *testing.T) {
	f := newFixture(t)
	v1 := f.mustDeploy(t, "v1")
	f.docker.set(v1.Container, func(c *Container) { c.IPs["net"] = "10.9.9.9" })
	rep := f.sync(t)
	if rep.Changed != 1 || rep.Rerouted != 2 {
		t.Fatalf("report = %+v", rep)
	}
	want := map[string]string{"www.example.com": "10.9.9.9:8080", "api.example.com": "10.9.9.9:9090"}
	if got := f.upstreams(); !equalMaps(got, want) {
		t.Fatalf("routes = %v, want %v", got, want)
	}
	if a := f.store.instances[v1.Container].Address; a != "10.9.9.9" {
		t.Fatalf("recorded address %s", a)
	}
}

func TestSyncRepointsRoutesOfAVanishedContainer(t *testing.T) {
	f := newFixture(t)
	f.w.MaxInstances = 2
	v1 := f.mustDeploy(t, "v1")
	v2 := f.mustDeploy(t, "v2")
	// Someone removes the serving container by hand.
	f.docker.mu.Lock()
	delete(f.docker.containers, v2.Container)
	f.docker.mu.Unlock()
	f.sync(t)
	if got := f.routedContainers(); len(got) != 1 || !got[v1.Container] {
		t.Fatalf("routes on %v, want on the remaining v1", got)
	}
	if st := f.store.instances[v2.Container].State; st != StateMissing {
		t.Fatalf("record of the removed container is %q, want missing", st)
	}
}

func TestSyncDoesNotRouteToAnUnhealthyContainer(t *testing.T) {
	f := newFixture(t)
	f.mustDeploy(t, "v1")
	f.store.wipe()
	f.coord = NewLocalCoordinator(f.store, f.clock.Now)
	f.engine = f.newEngine("a")
	f.health = func(context.Context, string) error { return ErrUnhealthy }
	if rep := f.sync(t); rep.Rerouted != 0 || rep.Adopted != 1 {
		t.Fatalf("report = %+v, want adopted but not routed", rep)
	}
}

func TestSyncTouchesNothingWhenDockerFails(t *testing.T) {
	f := newFixture(t)
	f.mustDeploy(t, "v1")
	upserts, routes := f.proxy.upserts, f.upstreams()
	f.docker.listErr = errors.New("connection refused")
	if _, err := f.engine.Sync(context.Background(), map[string]*labels.Workload{"web": f.w}); err == nil {
		t.Fatal("sync succeeded without Docker")
	}
	if f.proxy.upserts != upserts || !equalMaps(f.upstreams(), routes) {
		t.Fatal("proxy touched while Docker was unreachable")
	}
	for _, in := range f.store.instances {
		if in.State != StateRunning {
			t.Fatalf("record changed while Docker was unreachable: %+v", in)
		}
	}
}

// TestSyncDockerCallsDoNotGrowWithContainers counts the Docker API calls of
// one pass with 3 and with 60 managed containers, at rest and with a
// changed address: always the one list; after the store lost its records,
// one more list confirms the adoptions.
func TestSyncDockerCallsDoNotGrowWithContainers(t *testing.T) {
	for _, n := range []int{3, 60} {
		t.Run(fmt.Sprint(n, " containers"), func(t *testing.T) {
			f := newFixture(t)
			f.w.Healthcheck = ""
			ws := map[string]*labels.Workload{}
			for i := range n {
				w := *f.w
				w.Name = fmt.Sprint("w", i)
				ws[w.Name] = &w
				if _, err := f.engine.Deploy(context.Background(), &w, Request{Workload: w.Name, Tag: "v1"}); err != nil {
					t.Fatal(err)
				}
			}
			f.drained(f.engine) // the drains of the first deploys make their own calls
			steady := func(what string, want int) {
				t.Helper()
				calls := f.docker.totalCalls()
				if _, err := f.engine.Sync(context.Background(), ws); err != nil {
					t.Fatal(err)
				}
				if got := f.docker.totalCalls() - calls; got != want {
					t.Fatalf("%s: %d Docker calls in one pass over %d containers, want %d", what, got, n, want)
				}
			}
			steady("at rest", 1)
			f.docker.set("c1", func(c *Container) { c.IPs["net"] = "10.1.2.3"; c.State, c.Running = "exited", false })
			steady("after a change", 1)
			f.store.wipe()
			steady("after the store lost everything", 2) // a second list confirms what to adopt
			if len(f.store.instances) != n {
				t.Fatalf("%d records rebuilt, want %d", len(f.store.instances), n)
			}
		})
	}
}

func TestSyncLeavesAWorkloadWithALiveDeployAlone(t *testing.T) {
	f := newFixture(t)
	f.mustDeploy(t, "v1")
	reached, release := blockAt(f.engine, StepHealthy)
	done := f.deployAsync(f.engine, "v2")
	<-reached
	other := f.newEngine("b")
	rep, err := other.Sync(context.Background(), map[string]*labels.Workload{"web": f.w})
	if err != nil || rep.Recovered != 0 || rep.Adopted != 0 || len(rep.Busy) != 1 {
		t.Fatalf("sync during a deploy = %+v, %v", rep, err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("the deploy failed after a concurrent sync: %v", err)
	}
}

// BenchmarkSyncAtRest measures one reconcile pass with nothing to change,
// in-memory fakes only: the planning cost per tick as containers grow.
func BenchmarkSyncAtRest(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n, " containers"), func(b *testing.B) {
			f := newFixture(b)
			f.w.Healthcheck = ""
			ws := map[string]*labels.Workload{}
			for i := range n {
				w := *f.w
				w.Name = fmt.Sprint("w", i)
				ws[w.Name] = &w
				if _, err := f.engine.Deploy(context.Background(), &w, Request{Workload: w.Name, Tag: "v1"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.engine.Sync(context.Background(), ws); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSyncNeverBringsBackARecordTheDrainForgot: a reconcile pass takes its
// Docker snapshot while a drain is removing a replaced container; the
// drain then removes it and forgets its record. The pass must not adopt
// the container from its stale snapshot, or the record would stay
// forever (missing) and status would show an instance that is gone.
func TestSyncNeverBringsBackARecordTheDrainForgot(t *testing.T) {
	f := newFixture(t)
	f.w.MaxInstances = 2
	v1 := f.mustDeploy(t, "v1")
	f.mustDeploy(t, "v2")
	f.docker.set(v1.Container, func(c *Container) { c.Running, c.State = false, "exited" }) // the drain stopped it
	f.docker.afterList = func() {
		f.docker.afterList = nil
		f.docker.mu.Lock()
		delete(f.docker.containers, v1.Container)
		f.docker.mu.Unlock()
		if err := f.coord.Forget(context.Background(), "web", Writes{DeleteInstances: []Instance{{ID: v1.Container, Workload: "web"}}}); err != nil {
			t.Errorf("forget: %v", err)
		}
	}
	rep := f.sync(t)
	if in, ok := f.store.instances[v1.Container]; ok {
		t.Fatalf("the record of the removed container came back: %+v (report %+v)", in, rep)
	}
	if rep.Adopted != 0 {
		t.Fatalf("report = %+v, want nothing adopted", rep)
	}
}

// TestRefreshUpdatesOnlyExistingRecords is Writes.Refresh on the local
// coordinator (redisstore has the same test against Redis).
func TestRefreshUpdatesOnlyExistingRecords(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	c := NewLocalCoordinator(store, time.Now)
	l, _, err := c.TryLock(ctx, "web", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	old, cur := Instance{ID: "old", Workload: "web", State: StateRunning}, Instance{ID: "new", Workload: "web", State: StateRunning}
	if err := c.Commit(ctx, l, Writes{Instances: []Instance{old, cur}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Forget(ctx, "web", Writes{DeleteInstances: []Instance{old}}); err != nil {
		t.Fatal(err)
	}
	old.State, cur.State = StateExited, StateExited
	if err := c.Commit(ctx, l, Writes{Refresh: []Instance{old, cur}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.instances["old"]; ok || store.instances["new"].State != StateExited {
		t.Fatalf("instances after the refresh = %+v, want only new, exited", store.instances)
	}
}

func TestPlanSyncAdoptsNoContainerOnItsWayOut(t *testing.T) {
	mk := func(id, state string) Container {
		return Container{ID: id, State: state, Running: state == "running", Labels: map[string]string{labels.ManagedWorkload: "web"}}
	}
	plans := PlanSync(nil, nil, nil, []Container{mk("a", "running"), mk("b", "removing"), mk("c", "dead"), mk("d", "exited")}, "net", false, "", nil)
	if len(plans) != 1 {
		t.Fatalf("plans = %+v", plans)
	}
	var got []string
	for _, in := range plans[0].Adopt {
		got = append(got, in.ID)
	}
	if !slices.Equal(got, []string{"a", "d"}) {
		t.Fatalf("adopted %v, want a and d", got)
	}
}

// lockHook runs before, once, ahead of the first TryLock: what happens
// between a reconcile pass's snapshot and its taking the workload's lock.
type lockHook struct {
	Coordinator
	before func()
}

func (h *lockHook) TryLock(ctx context.Context, workload, owner string, ttl time.Duration) (Lease, bool, error) {
	if f := h.before; f != nil {
		h.before = nil
		f()
	}
	return h.Coordinator.TryLock(ctx, workload, owner, ttl)
}

// TestSyncRecoversNoDeployThatEndedAfterItsSnapshot: a reconcile pass
// reads the journals while a deploy is in flight (its journal open at
// healthy); the deploy then switches, succeeds and lets go of the lock
// before the pass takes it. The pass must not "recover" the deploy from
// its stale snapshot: undoing it would remove the container that now
// serves, and record a rollback that never happened.
func TestSyncRecoversNoDeployThatEndedAfterItsSnapshot(t *testing.T) {
	f := newFixture(t)
	f.mustDeploy(t, "v1")
	reached, release := blockAt(f.engine, StepHealthy)
	done := f.deployAsync(f.engine, "v2")
	<-reached
	b := f.newEngine("b")
	b.Coord = &lockHook{Coordinator: f.coord, before: func() {
		release()
		if err := <-done; err != nil {
			t.Errorf("deploy of v2: %v", err)
		}
		f.drained(f.engine)
	}}
	rep, err := b.Sync(context.Background(), map[string]*labels.Workload{"web": f.w})
	if err != nil || rep.Recovered != 0 {
		t.Fatalf("sync = %+v, %v; want nothing recovered", rep, err)
	}
	f.store.mu.Lock()
	evs := slices.Clone(f.store.events["web"])
	f.store.mu.Unlock()
	if ev := evs[len(evs)-1]; ev.Tag != "v2" || ev.Outcome != OutcomeDeployed || ev.Note != "" {
		t.Fatalf("newest event %+v, want v2 deployed", ev)
	}
	routed := f.routedContainers()
	if len(routed) != 1 {
		t.Fatalf("routed containers %v, want v2's only", routed)
	}
	for id := range routed {
		if c, err := f.docker.Inspect(context.Background(), id); err != nil || !c.Running || c.Labels[labels.ManagedTag] != "v2" {
			t.Fatalf("routed container %s: %+v, %v; want v2's, running", id, c, err)
		}
	}
}
