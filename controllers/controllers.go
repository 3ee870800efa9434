package controllers

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// containerSource is what the controller watcher needs from Docker.
type containerSource interface {
	List(ctx context.Context, labels map[string]string) ([]deployer.Container, error)
	dockerhost.WatchSource
}

// controllerActions are the container events that can change the set of
// declared workloads.
var controllerActions = []string{"start", "die", "destroy"}

// Controllers keeps the set of workloads declared by the labels of running
// controller containers, current within a moment of any Docker event.
type Controllers struct {
	docker containerSource
	scope  string
	log    zerolog.Logger
	timing dockerhost.WatchTiming // of the events watch; zero takes its defaults

	// OnChange, when set, is called after a refresh with the workloads
	// whose config differs from the last one seen for that name, including
	// the first sight of each name; a workload that disappears and comes
	// back unchanged (a compose recreate) is not reported.
	OnChange func(ctx context.Context, changed []*labels.Workload)
	// Admit, when set, refuses a workload its sidecar's policy forbids
	// (a network outside --allowed-networks): the workload is left out
	// and the error reported against its controller.
	Admit func(w *labels.Workload) error

	// Services, when set (a sidecar on a swarm manager), adds the swarm
	// services whose labels (a stack's deploy.labels) declare workloads:
	// listed with the containers, and followed through ServiceEvents.
	Services      ServiceSource
	ServiceEvents dockerhost.WatchSource

	refreshing sync.Mutex // one Refresh at a time: two watches may ask
	mu         sync.RWMutex
	workloads  map[string]*labels.Workload
	problems   map[string][]string         // controller name -> label errors
	findings   Findings                    // the same problems, by workload
	lastSeen   map[string]*labels.Workload // kept when a workload disappears
}

// NewControllers returns a watcher; call Run to keep it current.
// Only controllers whose tinyforge.scope label equals scope are read.
func NewControllers(docker containerSource, scope string, log zerolog.Logger) *Controllers {
	return &Controllers{docker: docker, scope: scope, log: log, workloads: map[string]*labels.Workload{}, lastSeen: map[string]*labels.Workload{}}
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

// Run keeps the workloads current until ctx ends, through a Docker events
// watch of the controllers: it re-lists them after every relevant event,
// every (re)connect of the stream and periodically (see dockerhost.Watch).
func (c *Controllers) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if c.Services != nil && c.ServiceEvents != nil {
		wg.Go(func() { c.serviceWatch().Run(ctx) })
	}
	w := &dockerhost.Watch{
		Source:  c.docker,
		Labels:  c.filter(),
		Actions: controllerActions,
		OnEvent: func(ev dockerhost.Event) bool {
			c.log.Debug().Str("action", ev.Action).Str(logkey.Container, ev.Name).Msg("controller event")
			return true
		},
		Relist: c.Refresh,
		Timing: c.timing,
		Log:    c.log,
	}
	w.Run(ctx)
	return nil
}

// filter selects controllers of this scope (Docker cannot filter on a
// label's absence: Refresh drops scoped controllers for an unscoped sidecar).
func (c *Controllers) filter() map[string]string {
	f := map[string]string{labels.Enable: "true"}
	if c.scope != "" {
		f[labels.Scope] = c.scope
	}
	return f
}

// Refresh re-reads the labels of every running controller.
func (c *Controllers) Refresh(ctx context.Context) error {
	c.refreshing.Lock()
	defer c.refreshing.Unlock()
	list, err := c.docker.List(ctx, c.filter())
	if err != nil {
		return err
	}
	if c.Services != nil {
		svcs, err := c.services(ctx)
		if err != nil {
			return err
		}
		list = append(list, svcs...)
	}
	list = slices.DeleteFunc(list, func(ctr deployer.Container) bool { return ctr.Labels[labels.Scope] != c.scope })
	workloads, problems, findings := collectWorkloads(list, c.Admit)
	for ctrl, errs := range problems {
		for _, e := range errs {
			c.log.Error().Str(logkey.Container, ctrl).Str("problem", e).Msg("invalid controller labels")
		}
	}
	c.mu.Lock()
	setChanged := !maps.EqualFunc(c.workloads, workloads, sameWorkload)
	var changed []*labels.Workload
	for _, name := range slices.Sorted(maps.Keys(workloads)) {
		if last, ok := c.lastSeen[name]; !ok || !sameWorkload(last, workloads[name]) {
			changed = append(changed, workloads[name])
			c.lastSeen[name] = workloads[name]
		}
	}
	c.workloads, c.problems, c.findings = workloads, problems, findings
	c.mu.Unlock()
	if setChanged {
		c.log.Info().Strs("workloads", slices.Sorted(maps.Keys(workloads))).Msg("workloads changed")
	}
	if len(changed) > 0 && c.OnChange != nil {
		c.OnChange(ctx, changed)
	}
	return nil
}

// collectWorkloads merges the workloads of running controllers that admit
// accepts (nil accepts all). A name
// declared identically by several controllers is one workload; declared
// differently, it is a conflict: the workload is left out (so nothing
// redeploys or tears it down) and reported against every declaring
// controller until the labels agree again.
func collectWorkloads(list []deployer.Container, admit func(*labels.Workload) error) (map[string]*labels.Workload, map[string][]string, Findings) {
	slices.SortFunc(list, func(a, b deployer.Container) int { return a.Created.Compare(b.Created) })
	workloads := map[string]*labels.Workload{}
	problems := map[string][]string{}
	owners := map[string][]string{}
	conflicted := map[string]bool{}
	found := Findings{Conflicts: map[string][]string{}, Invalid: map[string][]string{}}
	for _, ctr := range list {
		if !ctr.Running {
			continue
		}
		ws, errs := labels.Workloads(ctr.Labels)
		for _, err := range errs {
			problems[ctr.Name] = append(problems[ctr.Name], err.Error())
			found.invalid(ctr.Name, err)
		}
		for _, name := range slices.Sorted(maps.Keys(ws)) {
			if admit == nil {
				break
			}
			if err := admit(ws[name]); err != nil {
				problems[ctr.Name] = append(problems[ctr.Name], err.Error())
				delete(ws, name)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(ws)) {
			if first, dup := workloads[name]; dup && !sameWorkload(first, ws[name]) {
				conflicted[name] = true
			} else if !dup {
				workloads[name] = ws[name]
			}
			owners[name] = append(owners[name], ctr.Name)
		}
	}
	for name := range conflicted {
		delete(workloads, name)
		found.Conflicts[name] = owners[name]
		for _, ctr := range owners[name] {
			problems[ctr] = append(problems[ctr], fmt.Sprintf(
				"workload %s is declared differently by controllers %s: it stays as deployed until they agree",
				name, strings.Join(owners[name], ", ")))
		}
	}
	return workloads, problems, found
}

func sameWorkload(a, b *labels.Workload) bool { return reflect.DeepEqual(a, b) }
