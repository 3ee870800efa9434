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

// Watcher keeps the set of workloads declared by the labels of running
// controller containers, current within a moment of any Docker event.
type Watcher struct {
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
	// Verify, when set (--controller-key-file), authenticates a
	// controller's labels and returns the scope of the key that signed
	// them; a controller it refuses declares nothing and is reported.
	Verify func(containerLabels map[string]string) (scope string, err error)

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
	// conflicted names the workloads declared differently by several
	// controllers, with those controllers: never orphans (see Declares).
	conflicted map[string][]string
	refused    map[string]refusal // conflicts with no agreed declaration (see Refused)
	listed     bool               // a Refresh has succeeded: the declared set is known
}

// NewWatcher returns a watcher; call Run to keep it current.
// Only controllers whose tinyforge.scope label equals scope are read.
func NewWatcher(docker containerSource, scope string, log zerolog.Logger) *Watcher {
	return &Watcher{docker: docker, scope: scope, log: log, workloads: map[string]*labels.Workload{}, lastSeen: map[string]*labels.Workload{}}
}

// Workload returns the config of one workload, or nil.
func (c *Watcher) Workload(name string) *labels.Workload {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.workloads[name]
}

// Workloads returns every declared workload, by name.
func (c *Watcher) Workloads() map[string]*labels.Workload {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps.Clone(c.workloads)
}

// Declares reports whether any running controller declares the workload,
// agreed or in conflict: a workload in conflict is never an orphan, even
// when no agreed declaration of it is known.
func (c *Watcher) Declares(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.workloads[name] != nil || c.conflicted[name] != nil
}

// Refused returns the workloads whose deliveries are refused now, by name,
// with the reason to record and answer: declared differently by several
// controllers, with no agreed declaration known (a sidecar started during
// the conflict). declarations holds each one's differing declarations, so
// a push of any image they name is matched to it.
func (c *Watcher) Refused() (reasons map[string]string, declarations map[string][]*labels.Workload) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	reasons, declarations = map[string]string{}, map[string][]*labels.Workload{}
	for name, r := range c.refused {
		reasons[name], declarations[name] = r.reason, r.declarations
	}
	return reasons, declarations
}

// refusal is why a workload in conflict takes no delivery, with its
// declarations.
type refusal struct {
	reason       string
	declarations []*labels.Workload
}

// Listed reports whether the controllers were listed at least once: until
// then no workload is declared, and none may be called an orphan.
func (c *Watcher) Listed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.listed
}

// Problems returns the label errors of each controller, by controller name.
func (c *Watcher) Problems() map[string][]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps.Clone(c.problems)
}

// Run keeps the workloads current until ctx ends, through a Docker events
// watch of the controllers: it re-lists them after every relevant event,
// every (re)connect of the stream and periodically (see dockerhost.Watch).
func (c *Watcher) Run(ctx context.Context) error {
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
func (c *Watcher) filter() map[string]string {
	f := map[string]string{labels.Enable: "true"}
	if c.scope != "" {
		f[labels.Scope] = c.scope
	}
	return f
}

// Refresh re-reads the labels of every running controller.
func (c *Watcher) Refresh(ctx context.Context) error {
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
	got := collectWorkloads(list, c.Admit, c.Verify)
	workloads, problems, findings := got.workloads, got.problems, got.findings
	c.mu.Lock()
	c.refused = keepAgreed(workloads, problems, got.conflicts, got.declarations, c.workloads)
	c.conflicted = got.conflicts
	for ctrl, errs := range problems {
		for _, e := range errs {
			c.log.Error().Str(logkey.Container, ctrl).Str("problem", e).Msg("invalid controller labels")
		}
	}
	setChanged := !maps.EqualFunc(c.workloads, workloads, sameWorkload)
	var changed []*labels.Workload
	for _, name := range slices.Sorted(maps.Keys(workloads)) {
		if last, ok := c.lastSeen[name]; !ok || !sameWorkload(last, workloads[name]) {
			changed = append(changed, workloads[name])
			c.lastSeen[name] = workloads[name]
		}
	}
	c.workloads, c.problems, c.findings, c.listed = workloads, problems, findings, true
	c.mu.Unlock()
	if setChanged {
		c.log.Info().Strs("workloads", slices.Sorted(maps.Keys(workloads))).Msg("workloads changed")
	}
	if len(changed) > 0 && c.OnChange != nil {
		c.OnChange(ctx, changed)
	}
	return nil
}

// collected is what one listing of the controllers declares.
type collected struct {
	workloads map[string]*labels.Workload
	problems  map[string][]string // controller name -> problems
	conflicts map[string][]string // workload -> the controllers that declare it differently
	// declarations are the differing declarations of each workload in conflict.
	declarations map[string][]*labels.Workload
	findings     Findings // conflicts and invalid labels, by workload
}

// collectWorkloads merges the workloads of running controllers that
// verify accepts (nil: all; the workloads get the scope of the key that
// signed their controller) and that admit accepts (nil accepts all). A
// name declared identically by several controllers is one workload;
// declared differently (a different key scope included), it is a
// conflict: it is left out of workloads and listed in conflicts, and the
// caller decides what stands for it (see keepAgreed).
func collectWorkloads(list []deployer.Container, admit func(*labels.Workload) error, verify func(map[string]string) (string, error)) collected {
	slices.SortFunc(list, func(a, b deployer.Container) int { return a.Created.Compare(b.Created) })
	workloads := map[string]*labels.Workload{}
	problems := map[string][]string{}
	owners := map[string][]string{}
	conflicted := map[string]bool{}
	decls := map[string][]*labels.Workload{}
	found := Findings{Conflicts: map[string][]string{}, Invalid: map[string][]string{}}
	for _, ctr := range list {
		if !ctr.Running {
			continue
		}
		keyScope := ""
		if verify != nil {
			var err error
			if keyScope, err = verify(ctr.Labels); err != nil {
				problems[ctr.Name] = append(problems[ctr.Name], fmt.Sprintf(
					"controller not obeyed: %v (the sidecar requires a signature by a --controller-key-file key; tinyforge labels sign)", err))
				continue
			}
		}
		ws, errs := labels.Workloads(ctr.Labels)
		for _, w := range ws {
			w.KeyScope = keyScope
		}
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
			if !slices.ContainsFunc(decls[name], func(d *labels.Workload) bool { return sameWorkload(d, ws[name]) }) {
				decls[name] = append(decls[name], ws[name])
			}
			if first, dup := workloads[name]; dup && !sameWorkload(first, ws[name]) {
				conflicted[name] = true
			} else if !dup {
				workloads[name] = ws[name]
			}
			owners[name] = append(owners[name], ctr.Name)
		}
	}
	conflicts := map[string][]string{}
	declarations := map[string][]*labels.Workload{}
	for name := range conflicted {
		delete(workloads, name)
		conflicts[name] = owners[name]
		declarations[name] = decls[name]
		found.Conflicts[name] = owners[name]
	}
	return collected{workloads: workloads, problems: problems, conflicts: conflicts, declarations: declarations, findings: found}
}

// keepAgreed settles each conflict of a refresh: the workload keeps its
// last agreed declaration (from before, in previous) and goes on
// deploying from it; without one (the sidecar started during the
// conflict) it is declared by nobody but still not an orphan (Declares),
// and its deliveries are refused with the reason returned for it (see
// Refused). Either way the conflict is reported against every declaring
// controller and nothing is removed.
func keepAgreed(workloads map[string]*labels.Workload, problems, conflicts map[string][]string,
	declarations map[string][]*labels.Workload, previous map[string]*labels.Workload) map[string]refusal {
	refused := map[string]refusal{}
	for _, name := range slices.Sorted(maps.Keys(conflicts)) {
		what := "no agreed declaration is known, so its deliveries are refused until they agree; it is not an orphan and nothing of it is removed"
		if prev := previous[name]; prev != nil {
			workloads[name] = prev
			what = "it keeps its last agreed declaration (deploys use it) until they agree; nothing of it is removed"
		} else {
			refused[name] = refusal{declarations: declarations[name], reason: fmt.Sprintf(
				"workload %s is declared differently by controllers %s: deliveries refused until they agree", name, strings.Join(conflicts[name], ", "))}
		}
		for _, ctr := range conflicts[name] {
			problems[ctr] = append(problems[ctr], fmt.Sprintf("workload %s is declared differently by controllers %s: %s",
				name, strings.Join(conflicts[name], ", "), what))
		}
	}
	return refused
}

func sameWorkload(a, b *labels.Workload) bool { return reflect.DeepEqual(a, b) }
