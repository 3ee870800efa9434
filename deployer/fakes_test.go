package deployer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
}

func newFakeDocker() *fakeDocker {
	return &fakeDocker{containers: map[string]*Container{}, digests: map[string]string{}}
}

func (f *fakeDocker) Pull(_ context.Context, ref string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls = append(f.pulls, ref)
	if f.pullErr != nil {
		return "", f.pullErr
	}
	return f.digests[ref], nil
}

func (f *fakeDocker) EnsureNetwork(context.Context, string) error { return nil }

func (f *fakeDocker) Create(_ context.Context, s ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
	c, ok := f.containers[id]
	if !ok {
		return errors.New("no such container")
	}
	c.State, c.Running = "running", !f.exitOnStart
	if f.exitOnStart {
		c.State = "exited"
	}
	c.IPs[c.Labels["tinyforge.network"]] = fmt.Sprintf("10.0.0.%d", f.seq)
	return nil
}

func (f *fakeDocker) Inspect(_ context.Context, id string) (Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return Container{}, errors.New("no such container")
	}
	return *c, nil
}

func (f *fakeDocker) Stop(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.containers[id]; ok {
		c.Running, c.State = false, "exited"
	}
	return nil
}

func (f *fakeDocker) Remove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, id)
	return nil
}

func (f *fakeDocker) List(_ context.Context, labels map[string]string) ([]Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Container
	for _, c := range f.containers {
		match := true
		for k, v := range labels {
			match = match && c.Labels[k] == v
		}
		if match {
			out = append(out, *c)
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

// healthFunc adapts a function to HealthChecker.
type healthFunc func(ctx context.Context, url string) error

func (h healthFunc) WaitHealthy(ctx context.Context, url string) error { return h(ctx, url) }
