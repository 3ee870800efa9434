package ui

import (
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/controllers"
	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dnsplug"
	"github.com/tinyforge/tinyforge/overview"
	"github.com/tinyforge/tinyforge/poller"
)

// view is what status.html renders.
type view struct {
	Now       time.Time
	Workloads []workloadView
	Problems  []problemView
	Orphans   []orphanView
	CSRF      string
	Flash     string
	FlashOK   bool
}

type workloadView struct {
	Name      string
	Image     string
	Busy      bool
	Serving   deployer.Instance
	HasServe  bool
	Instances []instanceView
	Routes    []routeView
	Deploys   []deployer.Event
	Choices   []deployer.Event // rollback targets, newest first
	DNS       []dnsplug.RecordStatus
	Last      deployer.Event
	HasLast   bool
	Pending   *overview.Approval // a delivery waiting for approval
	Poll      *poller.Status
}

type instanceView struct {
	deployer.Instance
	Serving bool
	Age     string
}

type routeView struct {
	URL  string
	Face string
}

type problemView struct {
	Controller string
	Problems   []string
}

type orphanView struct {
	Name string
	controllers.OrphanStatus
	Age string
}

// buildView turns the overview into rows, sorted by name.
func buildView(st overview.Status, now time.Time) view {
	v := view{Now: now}
	for _, name := range slices.Sorted(maps.Keys(st.Workloads)) {
		w := st.Workloads[name]
		wv := workloadView{Name: name, Busy: w.Busy, Deploys: w.History, DNS: w.DNS, Pending: w.Pending, Poll: w.Poll}
		if w.Config != nil {
			wv.Image = w.Config.Image
		}
		wv.Serving, wv.HasServe = w.Serving()
		wv.Last, wv.HasLast = w.Last()
		for _, in := range w.Instances {
			wv.Instances = append(wv.Instances, instanceView{Instance: in, Serving: wv.HasServe && in.ID == wv.Serving.ID, Age: overview.Age(in.Created, now)})
		}
		for _, r := range w.Routes {
			wv.Routes = append(wv.Routes, routeView{URL: overview.RouteURL(r), Face: r.Face})
		}
		wv.Choices = deployer.RollbackChoices(w.History, wv.Serving.Digest)
		v.Workloads = append(v.Workloads, wv)
	}
	for _, c := range slices.Sorted(maps.Keys(st.Problems)) {
		v.Problems = append(v.Problems, problemView{Controller: c, Problems: st.Problems[c]})
	}
	for _, name := range slices.Sorted(maps.Keys(st.Orphans)) {
		o := st.Orphans[name]
		v.Orphans = append(v.Orphans, orphanView{Name: name, OrphanStatus: o, Age: overview.Age(o.Since, now)})
	}
	return v
}

// funcs are the template helpers.
var funcs = template.FuncMap{
	"short": overview.ShortDigest,
	"dur":   fmtDur,
	"when":  func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"outcomeClass": func(outcome string) string {
		switch {
		case outcome == deployer.OutcomeDeployed || outcome == "rerouted":
			return "ok"
		case strings.HasPrefix(outcome, deployer.OutcomeRolledBack):
			return "warn"
		default:
			return "bad"
		}
	},
	"tagOf": func(ev deployer.Event) string {
		if ev.Tag != "" {
			return ev.Tag
		}
		if i := strings.LastIndexByte(ev.Image, ':'); i > strings.LastIndexByte(ev.Image, '/') {
			return ev.Image[i+1:]
		}
		return ev.Image
	},
}

// fmtDur shows a duration with the precision people read: 850ms, 1.2s, 3m4s.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
