package secrets

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// memStore is an in-memory Store; the Redis one is tested in redisstore.
type memStore struct {
	mu   sync.Mutex
	regs map[string]Registry
	env  map[string]map[string]EnvValue
	// beforeReplace, when set, runs before each Replace* (to simulate a
	// concurrent writer).
	beforeReplace func()
}

func newMemStore() *memStore {
	return &memStore{regs: map[string]Registry{}, env: map[string]map[string]EnvValue{}}
}

func (m *memStore) PutRegistry(_ context.Context, r Registry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.regs[r.Name] = r
	return nil
}

func (m *memStore) GetRegistry(_ context.Context, name string) (Registry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.regs[name]
	if !ok {
		return Registry{}, ErrNotFound
	}
	return r, nil
}

func (m *memStore) ListRegistries(context.Context) ([]Registry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Collect(maps.Values(m.regs)), nil
}

func (m *memStore) DeleteRegistry(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.regs[name]; !ok {
		return ErrNotFound
	}
	delete(m.regs, name)
	return nil
}

func (m *memStore) ReplaceRegistry(_ context.Context, old, new Registry) (bool, error) {
	if m.beforeReplace != nil {
		m.beforeReplace()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.regs[old.Name] != old {
		return false, nil
	}
	m.regs[new.Name] = new
	return true, nil
}

func (m *memStore) PutEnv(_ context.Context, workload, key string, v EnvValue) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.env[workload] == nil {
		m.env[workload] = map[string]EnvValue{}
	}
	m.env[workload][key] = v
	return nil
}

func (m *memStore) GetEnv(_ context.Context, workload string) (map[string]EnvValue, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.env[workload]), nil
}

func (m *memStore) DeleteEnv(_ context.Context, workload, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.env[workload][key]; !ok {
		return ErrNotFound
	}
	delete(m.env[workload], key)
	return nil
}

func (m *memStore) EnvWorkloads(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.env)), nil
}

func (m *memStore) ReplaceEnv(_ context.Context, workload, key string, old, new EnvValue) (bool, error) {
	if m.beforeReplace != nil {
		m.beforeReplace()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.env[workload][key] != old {
		return false, nil
	}
	m.env[workload][key] = new
	return true, nil
}
