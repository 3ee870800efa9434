package sidecar

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// containerSource is what the controller watcher needs from Docker.
type containerSource interface {
	List(ctx context.Context, labels map[string]string) ([]deployer.Container, error)
	Events(ctx context.Context, since time.Time, labels map[string]string, actions ...string) (<-chan dockerhost.Event, <-chan error)
}

// controllerActions are the container events that can change the set of
// declared workloads.
var controllerActions = []string{"start", "die", "destroy"}

// Controllers keeps the set of workloads declared by the labels of running
// controller containers, current within a moment of any Docker event.
type Controllers struct {
	docker containerSource
	log    zerolog.Logger

	mu        sync.RWMutex
	workloads map[string]*labels.Workload
	problems  map[string][]string // controller name -> label errors
}

// NewControllers returns a watcher; call Run to keep it current.
func NewControllers(docker containerSource, log zerolog.Logger) *Controllers {
	return &Controllers{docker: docker, log: log, workloads: map[string]*labels.Workload{}}
}

// Workload returns the config of one workload, or nil.
func (c *Controllers) Workload(name string) *labels.Workload {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.workloads[name]
}

// Workloads returns every declared workload, by name.
func (c *Controllers) Workloads() map[string]*labels.Workload {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps.Clone(c.workloads)
}

// Problems returns the label errors of each controller, by controller name.
func (c *Controllers) Problems() map[string][]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps.Clone(c.problems)
}

// Run watches Docker until ctx ends: it subscribes to events first (from a
// time taken before listing, so nothing between the list and the
// subscription is missed), lists the controllers, and re-lists on every
// relevant event and after every reconnect.
func (c *Controllers) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := c.watch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		c.log.Warn().Err(err).Dur("retry_in", backoff).Msg("docker events stream ended; re-listing after reconnect")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (c *Controllers) watch(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	since := time.Now().Add(-time.Second)
	events, errs := c.docker.Events(ctx, since, map[string]string{labels.Enable: "true"}, controllerActions...)
	if err := c.Refresh(ctx); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			if err == nil {
				err = errors.New("events stream closed")
			}
			return err
		case ev, ok := <-events:
			if !ok {
				return errors.New("events stream closed")
			}
			c.log.Debug().Str("action", ev.Action).Str(logkey.Container, ev.Name).Msg("controller event")
			drain(events, 50*time.Millisecond) // one re-list per burst
			if err := c.Refresh(ctx); err != nil {
				return err
			}
		}
	}
}

// drain swallows events arriving within d, so a burst costs one re-list.
func drain(events <-chan dockerhost.Event, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-events:
		case <-t.C:
			return
		}
	}
}

// Refresh re-reads the labels of every running controller.
func (c *Controllers) Refresh(ctx context.Context) error {
	list, err := c.docker.List(ctx, map[string]string{labels.Enable: "true"})
	if err != nil {
		return err
	}
	workloads, problems := collectWorkloads(list)
	for ctrl, errs := range problems {
		for _, e := range errs {
			c.log.Error().Str(logkey.Container, ctrl).Str("problem", e).Msg("invalid controller labels")
		}
	}
	c.mu.Lock()
	changed := !maps.EqualFunc(c.workloads, workloads, sameWorkload)
	c.workloads, c.problems = workloads, problems
	c.mu.Unlock()
	if changed {
		c.log.Info().Strs("workloads", slices.Sorted(maps.Keys(workloads))).Msg("workloads changed")
	}
	return nil
}

// collectWorkloads merges the workloads of running controllers, oldest
// controller first; a name declared twice keeps the first declaration and
// reports the second.
func collectWorkloads(list []deployer.Container) (map[string]*labels.Workload, map[string][]string) {
	slices.SortFunc(list, func(a, b deployer.Container) int { return a.Created.Compare(b.Created) })
	workloads := map[string]*labels.Workload{}
	problems := map[string][]string{}
	owner := map[string]string{}
	for _, ctr := range list {
		if !ctr.Running {
			continue
		}
		ws, errs := labels.Workloads(ctr.Labels)
		for _, err := range errs {
			problems[ctr.Name] = append(problems[ctr.Name], err.Error())
		}
		for _, name := range slices.Sorted(maps.Keys(ws)) {
			if first, dup := owner[name]; dup {
				problems[ctr.Name] = append(problems[ctr.Name],
					"workload "+name+" is already declared by controller "+first+"; this declaration is ignored")
				continue
			}
			owner[name] = ctr.Name
			workloads[name] = ws[name]
		}
	}
	return workloads, problems
}

func sameWorkload(a, b *labels.Workload) bool { return reflect.DeepEqual(a, b) }
