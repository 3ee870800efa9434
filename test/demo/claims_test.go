package demo

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// checkImages: v1, v2 and v3-unhealthy exist, each one layer on scratch,
// answering its tag; only v3-unhealthy fails its health check.
func checkImages(d *demo, _ []string) {
	for _, tag := range []string{"v1", "v2", "v3-unhealthy"} {
		img, err := d.docker.ImageInspect(context.Background(), d.repo()+":"+tag)
		if err != nil {
			d.t.Errorf("image %s:%s: %v", d.repo(), tag, err)
			continue
		}
		env := img.Config.Env
		if !slices.Contains(env, "APP_VERSION="+tag) || slices.Contains(env, "HEALTH=fail") != (tag == "v3-unhealthy") {
			d.t.Errorf("image %s: env %q", tag, env)
		}
		if len(img.RootFS.Layers) != 1 {
			d.t.Errorf("image %s has %d layers, want 1 (FROM scratch, the binary)", tag, len(img.RootFS.Layers))
		}
	}
}

// checkController: the controller runs, and the label lines that follow
// are its tinyforge.* labels.
func checkController(d *demo, m []string) {
	c, err := d.docker.ContainerInspect(context.Background(), m[1])
	if m[1] != d.name+"-controller" || err != nil || !c.State.Running {
		d.t.Errorf("controller %s (want %s-controller): %v", m[1], d.name, err)
		return
	}
	d.state.controller = map[string]string{}
	for k, v := range c.Config.Labels {
		if strings.HasPrefix(k, "tinyforge.") {
			d.state.controller[k] = v
		}
	}
	d.state.labels = maps.Clone(d.state.controller) // each "label" line takes its own
}

// declares reports whether the sidecar declares workload, and only it.
func (d *demo) declares(workload string) bool {
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.sidecar+"/v1/workloads", nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	var out struct{ Workloads map[string]json.RawMessage }
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
	}
	_, ok := out.Workloads[workload]
	if err != nil || !ok || len(out.Workloads) != 1 {
		d.t.Errorf("the sidecar declares %d workloads, want only %s: %v", len(out.Workloads), workload, err)
		return false
	}
	return true
}

// checkServed: Caddy served the tag that many ms after the push, between
// the sidecar's switching and switched steps (plus polling).
func checkServed(d *demo, m []string) {
	tag, ms, what := m[1], atoi(m[2]), m[3]
	if tag != d.sectionTag() || (what == "rollback") != (d.section == "rollback") {
		d.t.Errorf("[%s] %q: want %s after the %s", d.section, m[0], d.sectionTag(), d.section)
	}
	if f := d.fact("served", func(f fact) bool { return f.Served != "" }); f.Served != tag || f.MS != ms {
		d.t.Errorf("[%s] %q: DEMO_SUMMARY says %+v", d.section, m[0], f)
	}
	if m[4] != "" && (m[4] != d.name+".localhost" || m[5] != d.caddyHTTP || m[6] != tag || d.state.body != tag) {
		d.t.Errorf("[%s] %q: Caddy answers %q for Host %s.localhost at %s", d.section, m[0], d.state.body, d.name, d.caddyHTTP)
	}
	ev := d.newest()
	at := d.startedAt().Add(time.Duration(ms) * time.Millisecond)
	if from, to := step(ev, "switching"), step(ev, "switched").Add(3*time.Second); ms <= 0 || !within(at, from, to) {
		d.t.Errorf("[%s] served at %s, want between the switching step %s and 3 s after switched", d.section, at, from)
	}
}

// checkRecorded: the newest deploy of the history is the one printed,
// with its outcome and duration, recorded before the demo saw it.
func checkRecorded(d *demo, m []string) {
	id, ms, outcome, took := m[1], atoi(m[2]), m[4], m[5]
	ev, tag := d.newest(), d.sectionTag()
	if ev.Deploy != id || ev.Outcome != outcome || ev.Took.Round(time.Millisecond).String() != took || ev.Tag != tag {
		d.t.Errorf("[%s] %q: the history's newest deploy is %s %s %q took %s", d.section, m[0], ev.Deploy, ev.Tag, ev.Outcome, ev.Took)
	}
	if ok := outcome == "deployed"; d.section == "v3" {
		if !strings.HasPrefix(outcome, "failed: ") || !strings.Contains(outcome, "health check") {
			d.t.Errorf("[v3] outcome %q, want a failed health check", outcome)
		}
		if d.exists(ev.Container) {
			d.t.Errorf("[v3] the failed deploy's container %s still exists", ev.Container)
		}
	} else if !ok || len(d.state.now) != 1 || d.state.now[0].Name != ev.Container {
		d.t.Errorf("[%s] outcome %q, container %s; running: %+v", d.section, outcome, ev.Container, d.state.now)
	}
	wantSource := map[bool]string{true: "rollback", false: "distribution"}[d.section == "rollback"]
	if ev.Source != wantSource {
		d.t.Errorf("[%s] deploy %s came from %q, want %q", d.section, id, ev.Source, wantSource)
	}
	if f := d.fact("recorded", func(f fact) bool { return f.Recorded != "" }); f.Recorded != id || f.MS != ms || f.Outcome != outcome || f.Tag != tag {
		d.t.Errorf("[%s] %q: DEMO_SUMMARY says %+v", d.section, m[0], f)
	}
	start := d.startedAt()
	if at := start.Add(time.Duration(ms) * time.Millisecond); !within(at, ev.Time, ev.Time.Add(5*time.Second)) || ev.Started.Before(start.Add(-20*time.Millisecond)) {
		d.t.Errorf("[%s] push at %s, seen recorded at %s; the deploy started %s, finished %s", d.section, start, at, ev.Started, ev.Time)
	}
	if slices.Contains(d.state.ids, id) {
		d.t.Errorf("[%s] deploy %s was already reported", d.section, id)
	}
	d.state.ids = append(d.state.ids, id)
	if d.section == "rollback" && ev.Digest != d.state.digests["v1"] {
		d.t.Errorf("[rollback] deployed %s, want v1's %s", ev.Digest, d.state.digests["v1"])
	}
	if d.section != "rollback" {
		d.state.digests[tag] = ev.Digest
	}
}

// checkKept: the old container stayed, unrouted, for the watch after the
// new one served, and went only after the watch passed.
func checkKept(d *demo, m []string) {
	tag, old, secs := m[1], m[2], atoi(m[3])
	ev := d.newest()
	if tag != d.sectionTag() || m[4] != tag || time.Duration(secs)*time.Second != d.watch {
		d.t.Errorf("[%s] %q: want %s kept for %s", d.section, m[0], d.sectionTag(), d.watch)
	}
	if prev := d.state.byTag[old].ID; prev == "" || ev.Previous == "" || !strings.HasPrefix(prev, ev.Previous) && !strings.HasPrefix(ev.Previous, prev) {
		d.t.Errorf("[%s] routes pointed at %q before the switch, want %s's container %q", d.section, ev.Previous, old, prev)
	}
	served := d.fact("served", func(f fact) bool { return f.Served != "" })
	removed := d.fact("removed", func(f fact) bool { return f.Removed != "" })
	if kept := time.Duration(removed.MS-served.MS) * time.Millisecond; kept < d.watch-time.Second {
		d.t.Errorf("[%s] %s was removed %s after %s served, want about %s", d.section, old, kept, tag, d.watch)
	}
	if gone := d.startedAt().Add(time.Duration(removed.MS) * time.Millisecond); gone.Before(step(ev, "watched").Add(-20 * time.Millisecond)) {
		d.t.Errorf("[%s] %s seen removed at %s, before the watch passed at %s", d.section, old, gone, step(ev, "watched"))
	}
}

// checkClient: the printed counts add up, match DEMO_SUMMARY, show the
// tags the section serves, and a "0 failed" agrees with the test's own
// client over the same stretch.
func checkClient(d *demo, m []string) {
	requests, failed := atoi(m[1]), atoi(m[3])
	perTag, sum := map[string]int64{}, int64(0)
	for _, kv := range strings.Split(m[4], ", ") {
		k, v, _ := strings.Cut(kv, ": ")
		perTag[k] = atoi(v)
		sum += atoi(v)
	}
	if requests <= 0 || sum+failed != requests || (m[2] == "rollback") != (d.section == "rollback") {
		d.t.Errorf("[%s] %q does not add up", d.section, m[0])
	}
	if f := d.fact("client", func(f fact) bool { return f.Client != nil }); f.Client == nil || int64(f.Client.Requests) != requests || int64(f.Client.Failed) != failed {
		d.t.Errorf("[%s] %q: DEMO_SUMMARY says %+v", d.section, m[0], f.Client)
	}
	want := map[string][]string{"v2": {"v1", "v2"}, "v3": {"v2"}, "rollback": {"v1", "v2"}}[d.section]
	for k := range perTag {
		if !slices.Contains(want, k) {
			d.t.Errorf("[%s] the client was answered %s", d.section, k)
		}
	}
	if perTag[d.sectionTag()] == 0 && d.section != "v3" {
		d.t.Errorf("[%s] the client never saw %s", d.section, d.sectionTag())
	}
	w := d.state.window
	if n := w.bodies["v1"] + w.bodies["v2"]; failed == 0 && (len(w.failed) > 0 || n == 0) {
		d.t.Errorf("[%s] the demo says 0 failed; the test's client saw %d answers and failures %q", d.section, n, w.failed)
	}
}

// checkHistoryHeading: the history holds the four deploys the demo
// reported, in order, each step's time being the time since the previous.
func checkHistoryHeading(d *demo, m []string) {
	var ids []string
	for _, ev := range d.state.events {
		ids = append(ids, ev.Deploy)
		prev := ev.Started
		for _, s := range ev.Steps {
			if diff := s.Took - s.At.Sub(prev); m[1] != d.name || diff < -time.Millisecond || diff > time.Millisecond {
				d.t.Errorf("[history] deploy %s step %s took %s, %s after the one before", ev.Deploy, s.Step, s.Took, s.At.Sub(prev))
			}
			prev = s.At
		}
	}
	slices.Reverse(ids)
	if !slices.Equal(ids, d.state.ids) {
		d.t.Errorf("[history] the history holds %q (oldest first), the demo reported %q", ids, d.state.ids)
	}
	d.state.line = 0
}

// checkDeployLine: the CLI's line says what the API says of that deploy.
func checkDeployLine(d *demo, m []string) {
	if d.state.line >= len(d.state.events) {
		d.t.Errorf("[history] %q: the history has only %d deploys", m[0], len(d.state.events))
		return
	}
	ev := d.state.events[d.state.line]
	d.state.line++
	digest := "-"
	if ev.Digest != "" {
		digest = ev.Digest[:min(19, len(ev.Digest))]
	}
	source := cmp.Or(ev.Source, "-")
	want := []string{ev.Time.Local().Format(time.DateTime), ev.Deploy, ev.Took.Round(time.Millisecond).String(), ev.Image, digest, source, ev.Outcome}
	if !slices.Equal(m[1:], want) {
		d.t.Errorf("[history] %q, the API says %q", m[0], want)
	}
}

// checkStepsLine: the steps of the deploy on the line before.
func checkStepsLine(d *demo, m []string) {
	if d.state.line == 0 || d.state.line > len(d.state.events) {
		d.t.Errorf("[history] %q follows no deploy", m[0])
		return
	}
	var want []string
	for _, s := range d.state.events[d.state.line-1].Steps {
		want = append(want, s.Step+" "+s.Took.Round(time.Millisecond).String())
	}
	if m[1] != strings.Join(want, ", ") {
		d.t.Errorf("[history] steps %q, the API says %q", m[1], want)
	}
}
