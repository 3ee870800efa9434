package controllers

import (
	"context"
	"fmt"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/logkey"
)

// ServiceSource lists swarm services by label as deployer.Containers
// (swarmhost.Host does): State "exited" for a service scaled to zero.
type ServiceSource interface {
	List(ctx context.Context, labels map[string]string) ([]deployer.Container, error)
}

// serviceActions are the service events that can change the set of
// declared workloads.
var serviceActions = []string{"create", "update", "remove"}

// serviceStopped is the state of a service scaled to zero.
const serviceStopped = "exited"

// services lists the controller services of this scope. A service
// declares its workloads while it asks for tasks, whether or not every
// task runs at this moment: a task restarting must not make its
// workloads orphans.
func (c *Watcher) services(ctx context.Context) ([]deployer.Container, error) {
	svcs, err := c.Services.List(ctx, c.filter())
	if err != nil {
		return nil, fmt.Errorf("list controller services: %w", err)
	}
	for i := range svcs {
		svcs[i].Running = svcs[i].State != serviceStopped
	}
	return svcs, nil
}

// serviceWatch follows service events. They carry no labels, so every
// create, update or removal of a service re-lists: the label filter is
// applied by the list.
func (c *Watcher) serviceWatch() *dockerhost.Watch {
	return &dockerhost.Watch{
		Source:  c.ServiceEvents,
		Actions: serviceActions,
		OnEvent: func(ev dockerhost.Event) bool {
			c.log.Debug().Str("action", ev.Action).Str(logkey.Container, ev.Name).Msg("service event")
			return true
		},
		Relist: c.Refresh,
		Timing: c.timing,
		Log:    c.log.With().Str("events", "service").Logger(),
	}
}
