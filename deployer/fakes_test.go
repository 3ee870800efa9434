package deployer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// fakeDocker is an in-memory engine: containers get an IP when started.
type fakeDocker struct {
	mu          sync.Mutex
	containers  map[string]*Container
	seq         int
	pulls       []string
	pullErr     error
	digests     map[string]string // ref -> digest
	exitOnStart bool
	specs       []ContainerSpec
	calls       map[string]int // method -> number of calls
	listErr     error
	watchers    map[string]chan string // container id -> actions fed by the test
	health      string                 // Docker's health state of started containers ("" = no HEALTHCHECK)
	exit        int                    // exit code Wait returns
	hang        bool                   // Wait blocks until its context ends
	output      string                 // what every container wrote
	removeErr   error                  // Remove fails with it
	afterList   func()                 // runs once List has taken its snapshot
}

func newFakeDocker() *fakeDocker {
	return &fakeDocker{containers: map[string]*Container{}, digests: map[string]string{},
		calls: map[string]int{}, watchers: map[string]chan string{}}
}

// count records one call of method; the caller holds f.mu.
func (f *fakeDocker) count(method string) { f.calls[method]++ }

// totalCalls is the number of Docker calls made so far.
func (f *fakeDocker) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

// WatchContainer streams the actions the test sends with emit.
func (f *fakeDocker) WatchContainer(_ context.Context, id string) (<-chan string, <-chan error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("WatchContainer")
	ch, ok := f.watchers[id]
	if !ok {
		ch = make(chan string, 8)
		f.watchers[id] = ch
	}
	return ch, make(chan error)
}

// emit sends a Docker event action for container id to its watcher.
func (f *fakeDocker) emit(id, action string) {
	f.mu.Lock()
	ch, ok := f.watchers[id]
	if !ok {
		ch = make(chan string, 8)
		f.watchers[id] = ch
	}
	f.mu.Unlock()
	ch <- action
}

// set changes a container under the lock.
func (f *fakeDocker) set(id string, change func(c *Container)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f.containers[id])
}

func (f *fakeDocker) Pull(_ context.Context, ref, _ string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Pull")
	f.pulls = append(f.pulls, ref)
	if f.pullErr != nil {
		return "", f.pullErr
	}
	if _, digest, ok := strings.Cut(ref, "@"); ok {
		return digest, nil
	}
	return f.digests[ref], nil
}

func (f *fakeDocker) EnsureNetwork(context.Context, string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("EnsureNetwork")
	return nil
}

func (f *fakeDocker) Create(_ context.Context, s ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Create")
	f.seq++
	f.specs = append(f.specs, s)
	id := fmt.Sprintf("c%d", f.seq)
	f.containers[id] = &Container{
		ID: id, Name: s.Name, Image: s.Image, Labels: maps.Clone(s.Labels), State: "created",
		Created: time.Unix(int64(f.seq), 0), IPs: map[string]string{},
	}
	for i, p := range s.Publish { // ephemeral host ports, as Docker gives them
		if f.containers[id].HostPorts == nil {
			f.containers[id].HostPorts = map[int]int{}
		}
		f.containers[id].HostPorts[p] = 32768 + 10*f.seq + i
	}
	return id, nil
}

func (f *fakeDocker) Start(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Start")
	c, ok := f.containers[id]
	if !ok {
		return errors.New("no such container")
	}
	c.State, c.Running, c.Health = "running", !f.exitOnStart, f.health
	if f.exitOnStart {
		c.State = "exited"
	}
	c.IPs[c.Labels["tinyforge.network"]] = fmt.Sprintf("10.0.0.%d", f.seq)
	return nil
}

func (f *fakeDocker) Inspect(_ context.Context, id string) (Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Inspect")
	c, ok := f.containers[id]
	if !ok {
		return Container{}, errors.New("no such container")
	}
	cc := *c
	cc.IPs = maps.Clone(c.IPs)
	return cc, nil
}

func (f *fakeDocker) Stop(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Stop")
	if c, ok := f.containers[id]; ok {
		c.Running, c.State = false, "exited"
	}
	return nil
}

func (f *fakeDocker) Remove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Remove")
	if f.removeErr != nil {
		return f.removeErr
	}
	delete(f.containers, id)
	return nil
}

// Wait returns exit at once (the container stops), or blocks with hang.
func (f *fakeDocker) Wait(ctx context.Context, id string) (int, error) {
	f.mu.Lock()
	f.count("Wait")
	hang, exit := f.hang, f.exit
	if c, ok := f.containers[id]; ok && !hang {
		c.Running, c.State = false, "exited"
	}
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return -1, ctx.Err()
	}
	return exit, nil
}

func (f *fakeDocker) Output(_ context.Context, _ string, limit int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Output")
	out := f.output
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

func (f *fakeDocker) List(_ context.Context, labels map[string]string) ([]Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.afterList != nil {
		defer func() { f.mu.Unlock(); f.afterList(); f.mu.Lock() }()
	}
	f.count("List")
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []Container
	for _, c := range f.containers {
		match := true
		for k, v := range labels {
			match = match && c.Labels[k] == v
		}
		if match {
			cc := *c
			cc.IPs = maps.Clone(c.IPs)
			out = append(out, cc)
		}
	}
	slices.SortFunc(out, func(a, b Container) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// fakeProxy holds the routing table; failHost makes upserts for one host fail.
type fakeProxy struct {
	mu       sync.Mutex
	routes   map[string]Route
	failHost string
	upserts  int
}

func (p *fakeProxy) Upsert(_ context.Context, r Route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Host == p.failHost {
		return errors.New("proxy refused")
	}
	p.upserts++
	p.routes[r.ID] = r
	return nil
}

func (p *fakeProxy) Delete(_ context.Context, r Route) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.routes, r.ID)
	return nil
}

// memStore is an in-memory Store.
type memStore struct {
	mu        sync.Mutex
	instances map[string]Instance
	routes    map[string]Route
	events    map[string][]Event
}

func newMemStore() *memStore {
	return &memStore{instances: map[string]Instance{}, routes: map[string]Route{}, events: map[string][]Event{}}
}

func (s *memStore) PutInstance(_ context.Context, in Instance) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instances[in.ID] = in
	return nil
}

func (s *memStore) DeleteInstance(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.instances, id)
	return nil
}

func (s *memStore) Instances(_ context.Context, w string) ([]Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Instance
	for _, in := range s.instances {
		if w == "" || in.Workload == w {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b Instance) int { return a.Created.Compare(b.Created) })
	return out, nil
}

func (s *memStore) PutRoute(_ context.Context, r Route) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[r.ID] = r
	return nil
}

func (s *memStore) DeleteRoute(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.routes, id)
	return nil
}

func (s *memStore) Routes(_ context.Context, w string) ([]Route, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Route
	for _, r := range s.routes {
		if w == "" || r.Workload == w {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *memStore) AppendEvent(_ context.Context, w string, ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events[w] = append(s.events[w], ev)
	return nil
}

// healthFunc adapts a function of the probe's target (an http:// URL or
// tcp://host:port) to HealthChecker.
type healthFunc func(ctx context.Context, target string) error

func (h healthFunc) WaitHealthy(ctx context.Context, p Probe) error { return h(ctx, p.Target()) }

// wipe forgets everything, as a flushed Redis does.
func (s *memStore) wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instances, s.routes, s.events = map[string]Instance{}, map[string]Route{}, map[string][]Event{}
}
