package labelscli

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/tinyforge/tinyforge/labels"
)

// Controller is the labels of one controller container, as read from a
// compose service or from Docker.
type Controller struct {
	// Source names the controller in messages: "compose.yml, service web"
	// or "container web-ctrl".
	Source string
	// File and Lines place labels in a compose file (Lines: label key →
	// line); both are empty for a container.
	File  string
	Line  int
	Lines map[string]int
	// Labels are the container labels, tinyforge.* and foreign alike.
	Labels map[string]string
	// Problems were found while reading the labels (a key set twice).
	Problems []Problem
}

// Problem is one error or warning of a check.
type Problem struct {
	Source string `json:"source,omitempty"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	// Key, Value and Workload are set when one label is to blame; Value
	// is never an env value (package labels keeps those out).
	Key      string `json:"key,omitempty"`
	Value    string `json:"value,omitempty"`
	Workload string `json:"workload,omitempty"`
	// Message is the whole problem, naming the label key when there is one.
	Message string `json:"message"`
}

// Report is the outcome of checking a set of controllers.
type Report struct {
	Controllers []ControllerReport `json:"controllers"`
	// Conflicts are workloads declared differently by two controllers.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Errors belong to no single controller: a compose file without a
	// controller, a container that is not one, a source that could not be read.
	Errors   []Problem `json:"errors,omitempty"`
	Warnings []Problem `json:"warnings,omitempty"`
	// Unreadable is set when a source could not be read at all, so the
	// check is incomplete (exit status 2 rather than 1).
	Unreadable bool `json:"unreadable,omitempty"`
}

// ControllerReport is what one controller declares, or why it cannot.
type ControllerReport struct {
	Source    string         `json:"source"`
	Settings  SettingsView   `json:"settings"`
	Workloads []WorkloadView `json:"workloads"`
	Errors    []Problem      `json:"errors,omitempty"`
}

// SettingsView is what the controller's settings labels set; empty means
// the sidecar's flag applies.
type SettingsView struct {
	Network        string `json:"network,omitempty"`
	Domain         string `json:"domain,omitempty"`
	BaseVolumePath string `json:"baseVolumePath,omitempty"`
}

// Conflict is one workload declared by two controllers with different
// configs (settings that apply to it included).
type Conflict struct {
	Workload string   `json:"workload"`
	Sources  []string `json:"sources"`
	// Differ lists the labels, relative to the workload (or settings.*),
	// whose values differ; env values are compared but never shown.
	Differ  []string `json:"differ,omitempty"`
	Message string   `json:"message"`
}

// WorkloadView is a decoded workload as a person (or a script) checks it,
// with defaults applied. It holds env keys only: values may be secrets.
type WorkloadView struct {
	Name          string  `json:"name"`
	Image         string  `json:"image"`
	Registry      string  `json:"registry,omitempty"`
	Port          int     `json:"port,omitempty"`
	Healthcheck   string  `json:"healthcheck,omitempty"`
	HealthTimeout string  `json:"healthTimeout"`
	DefaultTag    string  `json:"defaultTag"`
	Tags          string  `json:"tags,omitempty"`
	Instances     int     `json:"instances"`
	CPULimit      float64 `json:"cpuLimit,omitempty"`
	MemoryLimitMB int     `json:"memoryLimitMB,omitempty"`
	// Command and Entrypoint are the words of the override; null keeps
	// the image's, and an empty entrypoint clears it.
	Command    []string     `json:"command"`
	Entrypoint []string     `json:"entrypoint"`
	EnvKeys    []string     `json:"envKeys"`
	Volumes    []VolumeView `json:"volumes"`
	Faces      []FaceView   `json:"faces"`
}

// VolumeView is one volume of a workload.
type VolumeView struct {
	Key      string `json:"key"`
	Target   string `json:"target"`
	Scope    string `json:"scope"`
	Source   string `json:"source,omitempty"`
	Name     string `json:"name,omitempty"` // Docker volume name of named and project_named volumes
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// FaceView is one face of a workload, with its fully qualified host.
type FaceView struct {
	Name       string `json:"name"`
	Enabled    bool   `json:"enabled"`
	Host       string `json:"host,omitempty"`
	URL        string `json:"url,omitempty"`
	Port       int    `json:"port,omitempty"`
	AccessList string `json:"accessList,omitempty"`
	TLS        bool   `json:"tls,omitempty"`
	// NoDNS: dns=false, the sidecar keeps no DNS record for the host.
	NoDNS bool `json:"noDNS,omitempty"`
}

// Failed reports whether the check found any error.
func (r *Report) Failed() bool { return r.ErrorCount() > 0 || r.Unreadable }

// ErrorCount counts every error of the report, conflicts included.
func (r *Report) ErrorCount() int {
	n := len(r.Errors) + len(r.Conflicts)
	for _, c := range r.Controllers {
		n += len(c.Errors)
	}
	return n
}

// Workloads counts the valid workloads, each name once.
func (r *Report) Workloads() int {
	names := map[string]bool{}
	for _, c := range r.Controllers {
		for _, w := range c.Workloads {
			names[w.Name] = true
		}
	}
	return len(names)
}

// Check decodes and validates every controller, and reports workloads
// declared differently by two of them, as the sidecar sees all the
// controllers of a host at once. defaultDomain is the sidecar's --domain,
// used by faces of controllers that set no settings.domain.
func Check(ctrls []Controller, defaultDomain string) *Report {
	r := &Report{Controllers: []ControllerReport{}}
	type decl struct {
		source string
		ctrl   *labels.Controller // holding only the one workload
	}
	decls := map[string][]decl{}
	for _, c := range ctrls {
		parsed, errs := labels.Parse(c.Labels)
		cr := ControllerReport{Source: c.Source, Settings: SettingsView(parsed.Settings), Workloads: []WorkloadView{}}
		cr.Errors = append(cr.Errors, c.Problems...)
		for _, err := range errs {
			cr.Errors = append(cr.Errors, labelProblem(c, err))
		}
		// In file order for a compose file; a container's stay in key order.
		slices.SortStableFunc(cr.Errors, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
		domain := cmp.Or(parsed.Settings.Domain, defaultDomain)
		for _, name := range slices.Sorted(maps.Keys(parsed.Workloads)) {
			w := parsed.Workloads[name]
			cr.Workloads = append(cr.Workloads, viewWorkload(w, domain))
			decls[name] = append(decls[name], decl{c.Source, &labels.Controller{
				Settings: parsed.Settings, Workloads: map[string]*labels.Workload{name: w}}})
		}
		r.Controllers = append(r.Controllers, cr)
	}

	for _, name := range slices.Sorted(maps.Keys(decls)) {
		ds := decls[name]
		for _, d := range ds[1:] {
			first := ds[0]
			differ := differingKeys(name, first.ctrl, d.ctrl)
			if len(differ) == 0 && reflect.DeepEqual(first.ctrl, d.ctrl) {
				r.Warnings = append(r.Warnings, Problem{Source: d.source, Workload: name,
					Message: fmt.Sprintf("workload %s is declared identically by %s and %s: harmless, but one declaration would do", name, first.source, d.source)})
				continue
			}
			detail := "differ in " + strings.Join(differ, ", ")
			if len(differ) == 0 {
				detail = "differ in an empty volume or face entry"
			}
			r.Conflicts = append(r.Conflicts, Conflict{
				Workload: name,
				Sources:  []string{first.source, d.source},
				Differ:   differ,
				Message: fmt.Sprintf("workload %s is declared by both %s and %s with different configs (%s): "+
					"remove one declaration or make them identical", name, first.source, d.source, detail),
			})
		}
	}
	return r
}

// labelProblem places one error of package labels in its controller.
func labelProblem(c Controller, err error) Problem {
	p := Problem{Source: c.Source, File: c.File, Line: c.Line, Message: err.Error()}
	var le *labels.Error
	if errors.As(err, &le) {
		p.Key, p.Value, p.Workload = le.Key, le.Value, le.Workload
		if line := nearestLine(c.Lines, le.Key); line > 0 {
			p.Line = line
		}
	}
	return p
}

// nearestLine is the line of key, or for a label that is missing (a
// volume without scope) or a group (a bad workload name), the first line
// of its nearest written relative (the volume's or workload's other
// labels), so the position points where to fix it. It never looks wider
// than one workload: 0 then, and the caller uses the service's line.
func nearestLine(lines map[string]int, key string) int {
	if line, ok := lines[key]; ok {
		return line
	}
	for prefix := key + "."; strings.Count(prefix, ".") >= 3; {
		best := 0
		for k, line := range lines {
			if strings.HasPrefix(k, prefix) && (best == 0 || line < best) {
				best = line
			}
		}
		if best > 0 {
			return best
		}
		prefix = prefix[:strings.LastIndexByte(prefix[:len(prefix)-1], '.')+1]
	}
	return 0
}

// differingKeys lists the labels that differ between two declarations of
// a workload, relative to the workload (settings keys as settings.*).
func differingKeys(name string, a, b *labels.Controller) []string {
	ea, eb := labels.Encode(a), labels.Encode(b)
	keys := slices.Collect(maps.Keys(ea))
	for k := range eb {
		if _, ok := ea[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	prefix := labels.Root + ".workloads." + name + "."
	var out []string
	for _, k := range keys {
		va, oka := ea[k]
		vb, okb := eb[k]
		if oka == okb && va == vb {
			continue
		}
		rel := strings.TrimPrefix(k, prefix)
		if rel == k {
			rel = strings.TrimPrefix(k, labels.Root+".")
		}
		out = append(out, rel)
	}
	return out
}

func viewWorkload(w *labels.Workload, domain string) WorkloadView {
	v := WorkloadView{
		Name:          w.Name,
		Image:         w.Image,
		Registry:      w.Registry,
		Port:          w.Port,
		Healthcheck:   w.Healthcheck,
		HealthTimeout: w.HealthWait().String(),
		DefaultTag:    w.ResolveTag(""),
		Tags:          w.Tags,
		Instances:     w.Instances(),
		CPULimit:      w.CPULimit,
		MemoryLimitMB: w.MemoryLimit,
		EnvKeys:       slices.Sorted(maps.Keys(w.Env)),
		Volumes:       []VolumeView{},
		Faces:         []FaceView{},
	}
	if v.EnvKeys == nil {
		v.EnvKeys = []string{}
	}
	// A valid workload's command lines split: Validate checks that.
	v.Command, _ = w.Command.Split()
	v.Entrypoint, _ = w.Entrypoint.Split()
	for _, key := range slices.Sorted(maps.Keys(w.Volumes)) {
		vol := w.Volumes[key]
		vv := VolumeView{Key: key, Target: vol.Target, Scope: vol.Scope, Source: vol.Source, ReadOnly: vol.ReadOnly}
		if vol.Scope == labels.ScopeNamed || vol.Scope == labels.ScopeProjectNamed {
			vv.Name = vol.EffectiveName(key)
		}
		v.Volumes = append(v.Volumes, vv)
	}
	for _, name := range slices.Sorted(maps.Keys(w.Faces)) {
		f := w.Faces[name]
		fv := FaceView{Name: name, Enabled: f.Enabled()}
		if fv.Enabled {
			scheme := "http"
			if f.TLS {
				scheme = "https"
			}
			fv.Host, fv.Port, fv.AccessList, fv.TLS = f.Host(domain), f.Port(w), f.AccessList, f.TLS
			fv.NoDNS = !f.WantsDNS()
			fv.URL = scheme + "://" + fv.Host + "/"
		}
		v.Faces = append(v.Faces, fv)
	}
	return v
}
