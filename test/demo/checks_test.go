package demo

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

// sentence is one kind of line the demo prints, and how to check it.
type sentence struct {
	key   string
	re    *regexp.Regexp
	check func(d *demo, m []string)
}

// required lists, per section, the sentences it must contain.
var required = map[string][]string{
	"setup":    {"tools", "found", "redis", "registry", "caddy", "sidecar", "build", "controller", "label", "declared"},
	"v1":       {"push v1", "served", "watches", "recorded"},
	"v2":       {"push v2", "listing", "container", "served", "kept", "removed", "recorded", "client"},
	"v3":       {"push v3", "recorded", "still serves", "client", "listing", "container"},
	"rollback": {"rollback", "cli", "queued", "served", "kept", "removed", "recorded", "client", "listing", "container"},
	"history":  {"history", "deploy line", "steps line"},
	"end":      {"cleaning up", "removed counts"},
}

// checkSection checks the lines the demo printed up to checkpoint
// section: each must be a known sentence whose claim holds now.
func (d *demo) checkSection(section string, lines []string) {
	d.section, d.matched, d.listing, d.listed = section, nil, "", nil
	d.facts = d.readFacts()
	if section != "end" { // the demo waits: its sidecar still answers
		d.snapshot()
	}
	for _, l := range lines {
		s, m := match(l)
		if s == nil {
			d.t.Errorf("[%s] no check knows the line %q: add one to test/demo", section, l)
			continue
		}
		d.matched = append(d.matched, s.key)
		s.check(d, m)
	}
	for _, key := range required[section] {
		if !slices.Contains(d.matched, key) {
			d.t.Errorf("[%s] the demo printed no %q line", section, key)
		}
	}
	d.checkListing()
	if section == "setup" && len(d.state.labels) > 0 {
		d.t.Errorf("[setup] the controller's labels %v were not shown", d.state.labels)
	}
	for _, c := range d.state.now { // for the next sections' "before" and "kept"
		d.state.byTag[c.Tag] = c
	}
	if section == "v1" {
		d.testClient = d.startHammer()
	}
	if section == "rollback" && d.testClient != nil {
		d.testClient.stop()
	}
}

func match(l string) (*sentence, []string) {
	for i := range sentences {
		if m := sentences[i].re.FindStringSubmatch(l); m != nil {
			return &sentences[i], m
		}
	}
	return nil, nil
}

// newest is the newest deploy of the snapshot; the section's own.
func (d *demo) newest() deployer.Event {
	if len(d.state.events) == 0 {
		d.t.Errorf("[%s] the history is empty", d.section)
		return deployer.Event{}
	}
	return d.state.events[0]
}

// sectionTag is the tag the current section deploys.
func (d *demo) sectionTag() string {
	return map[string]string{"v1": "v1", "v2": "v2", "v3": "v3-unhealthy", "rollback": "v1"}[d.section]
}

// startedAt is when the section's push (or rollback) began, from
// DEMO_SUMMARY.
func (d *demo) startedAt() time.Time {
	for _, f := range d.facts {
		if f.Push != "" || f.Rollback {
			return time.UnixMilli(f.AtMS)
		}
	}
	d.t.Errorf("[%s] DEMO_SUMMARY has no push or rollback", d.section)
	return time.Time{}
}

// fact returns the section's DEMO_SUMMARY line that sel picks.
func (d *demo) fact(what string, sel func(fact) bool) fact {
	for _, f := range d.facts {
		if sel(f) {
			return f
		}
	}
	d.t.Errorf("[%s] DEMO_SUMMARY has no %s", d.section, what)
	return fact{}
}

// step is the time a deploy reached step ("" when it did not).
func step(ev deployer.Event, name string) time.Time {
	for _, s := range ev.Steps {
		if s.Step == name {
			return s.At
		}
	}
	return time.Time{}
}

// within reports whether at lies in [from-slack, to].
func within(at, from, to time.Time) bool {
	const slack = 20 * time.Millisecond // date +%s%N vs Go's clock, rounding to ms
	return !at.Before(from.Add(-slack)) && !at.After(to)
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// checkListing checks the container lines that followed a "containers"
// header against the workload's containers at the checkpoint.
func (d *demo) checkListing() {
	if d.listing == "" {
		return
	}
	s := d.state
	switch d.listing {
	case "before": // v2 section: what v1's checkpoint saw
		want := s.byTag["v1"]
		if len(d.listed) != 1 || !strings.HasPrefix(d.listed[0], want.Name+" (v1, Up ") {
			d.t.Errorf("[%s] containers before: %q, want only %s (v1, Up ...)", d.section, d.listed, want.Name)
		}
		return
	}
	var want []string
	for _, c := range s.now {
		if c.State != "running" {
			d.t.Errorf("[%s] container %s is %s", d.section, c.Name, c.State)
		}
		want = append(want, c.Name+" ("+c.Tag+", ")
	}
	if len(want) != 1 || len(d.listed) != 1 || !strings.HasPrefix(d.listed[0], want[0]+"Up ") {
		d.t.Errorf("[%s] containers listed %q; Docker has %q: want the one serving container", d.section, d.listed, want)
	}
	for _, c := range s.now {
		if c.Tag == "v3-unhealthy" {
			d.t.Errorf("[%s] the v3-unhealthy container %s still exists", d.section, c.Name)
		}
	}
}
