package controllers

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/dockerhost"
)

// A swarm service whose labels declare workloads is a controller like a
// container: its service events re-list, and it declares while it asks
// for tasks even when one is restarting; scaled to zero, it declares
// nothing.
func TestServicesDeclareWorkloads(t *testing.T) {
	containers := &fakeContainers{subbed: make(chan fakeStream, 64)}
	services := &fakeContainers{subbed: make(chan fakeStream, 64)}
	c := NewWatcher(containers, "", zerolog.Nop())
	c.Services, c.ServiceEvents = services, services
	c.timing = dockerhost.WatchTiming{RelistEvery: time.Hour, Debounce: time.Millisecond}
	changed := runControllers(t, c)
	waitFor(t, "container subscription", containers.subbed)
	s := waitFor(t, "service subscription", services.subbed)

	stack := controllerOf("web")
	stack.Running, stack.State = false, "starting" // a task restarting
	services.set(false, stack)
	s.events <- dockerhost.Event{Action: "update", Name: "stack_tinyforge"}
	if name := waitFor(t, "web declared by a service", changed); name != "web" || c.Workload("web") == nil {
		t.Fatalf("changed %q, Workload(web) = %v", name, c.Workload("web"))
	}

	stack.State = "exited" // scaled to zero
	services.set(false, stack)
	s.events <- dockerhost.Event{Action: "update", Name: "stack_tinyforge"}
	deadline := time.Now().Add(5 * time.Second)
	for c.Workload("web") != nil {
		if time.Now().After(deadline) {
			t.Fatal("a service scaled to zero still declares web")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
