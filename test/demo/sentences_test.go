package demo

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// sentences are every line the demo prints, each with the check of what
// it claims. Keys name them in required.
var sentences = []sentence{
	{"tools", re(`==> checking the tools: curl, docker, redis-server, docker-registry, caddy, go`), func(d *demo, _ []string) {
		for _, tool := range []string{"curl", "docker", "redis-server", "docker-registry", "caddy", "go"} {
			if _, err := exec.LookPath(tool); err != nil {
				d.t.Errorf("the demo found its tools, but %s: %v", tool, err)
			}
		}
	}},
	{"found", re(`   all found; Docker Engine (\S+) answers; ports free`), func(d *demo, m []string) {
		v, err := d.docker.ServerVersion(context.Background())
		if err != nil || v.Version != m[1] {
			d.t.Errorf("Docker Engine %s answers, says the demo; it is %s (%v)", m[1], v.Version, err)
		}
	}},
	{"redis", re(`==> starting redis-server on 127\.0\.0\.1:(\d+)`), func(d *demo, m []string) {
		if atoi(m[1]) != int64(d.redisPort) || redisPing("127.0.0.1:"+m[1]) != nil {
			d.t.Errorf("redis-server on port %s (REDIS_PORT=%d): %v", m[1], d.redisPort, redisPing("127.0.0.1:"+m[1]))
		}
	}},
	{"registry", re(`==> starting a registry on 127\.0\.0\.1:(\d+) \(it notifies the sidecar of every push\)`), func(d *demo, m []string) {
		// That it notifies: every push deploys (Source "distribution" in "recorded").
		if err := httpOK("http://127.0.0.1:" + m[1] + "/v2/"); atoi(m[1]) != int64(d.registryPort) || err != nil {
			d.t.Errorf("registry on port %s (REGISTRY_PORT=%d): %v", m[1], d.registryPort, err)
		}
	}},
	{"caddy", re(`==> starting caddy: admin API on (\S+); the sidecar will have it serve the workload on (\S+)`), func(d *demo, m []string) {
		// That it serves the workload there: see "served".
		if err := httpOK("http://" + m[1] + "/config/"); m[1] != d.caddyAdmin || m[2] != d.caddyHTTP || err != nil {
			d.t.Errorf("caddy admin %s HTTP %s (want %s, %s): %v", m[1], m[2], d.caddyAdmin, d.caddyHTTP, err)
		}
	}},
	{"migrate", re(`   \(could not set net\.ipv4\.tcp_migrate_req=1: a few new connections may be reset at a switch\)`), func(d *demo, _ []string) {
		if b, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_migrate_req"); strings.TrimSpace(string(b)) == "1" {
			d.t.Errorf("the demo could not set tcp_migrate_req, yet it is 1")
		}
	}},
	{"sidecar", re(`==> starting the sidecar on (\S+) \(watch after each switch: (\d+) s; log: (\S+)\)`), func(d *demo, m []string) {
		if err := httpOK("http://" + m[1] + "/healthz"); m[1] != d.sidecar || err != nil {
			d.t.Errorf("sidecar on %s (SIDECAR=%s): %v", m[1], d.sidecar, err)
		}
		if time.Duration(atoi(m[2]))*time.Second != d.watch { // the watch itself: see "watches"
			d.t.Errorf("watch %s s, want %s", m[2], d.watch)
		}
		if fi, err := os.Stat(m[3]); err != nil || fi.Size() == 0 {
			d.t.Errorf("the sidecar's log %s: %v (empty?)", m[3], err)
		}
	}},
	{"build", re(`==> building the demo app \(FROM scratch, a static Go binary\): v1, v2 and v3-unhealthy, whose /health answers 500`), checkImages},
	{"controller", re(`==> starting the controller (\S+): its labels are the whole configuration`), checkController},
	{"label", re(`   (tinyforge\.[^=]+)=(.*)`), func(d *demo, m []string) {
		if v, ok := d.state.labels[m[1]]; !ok || v != m[2] {
			d.t.Errorf("the controller's label %s is %q (set: %v), the demo says %q", m[1], v, ok, m[2])
		}
		delete(d.state.labels, m[1])
	}},

	{"declared", re(`   the sidecar read them: it now declares the workload (\S+)`), func(d *demo, m []string) {
		if m[1] != d.name || !d.declares(m[1]) {
			d.t.Errorf("%q: the sidecar does not declare it alone", m[0])
		}
	}},

	{"push v1", re(`==> push v1: the registry notifies the sidecar, which deploys it`), func(*demo, []string) {}}, // see "recorded"
	{"served", re(`   (\S+) served (\d+) ms after the (push|rollback)(?:: curl -H 'Host: (\S+)' http://(\S+)/ -> (\S*))?`), checkServed},
	{"watches", re(`   (v\d+) serves; the sidecar now watches it for (\d+) s \(it must stay up and healthy\) before the deploy counts as done`), func(d *demo, m []string) {
		// The deploy is recorded when its watch ends (the drain that
		// follows is journaled after the record): a watch that passed,
		// at least the watch after the switch.
		ev := d.newest()
		switched := step(ev, "switched")
		if time.Duration(atoi(m[2]))*time.Second != d.watch || ev.Time.Sub(switched) < d.watch || ev.Watch != "passed" {
			d.t.Errorf("%s watched %s s: switched %s, recorded %s, watch %q", m[1], m[2], switched, ev.Time, ev.Watch)
		}
	}},
	{"recorded", re(`   deploy (\S+) recorded in the history (\d+) ms after the (push|rollback): (.+), took (\S+)`), checkRecorded},

	{"push v2", re(`==> push v2 while a client requests the app without pause`), func(*demo, []string) {}}, // see "client"
	{"listing", re(`   containers (before|after|\(the v3-unhealthy one was removed\)):`), func(d *demo, m []string) {
		d.checkListing() // the one before, if any
		d.listing, d.listed = m[1], nil
	}},
	{"container", re(`     (\S+ \([^,]+, .+\))`), func(d *demo, m []string) {
		if d.listing == "" {
			d.t.Errorf("[%s] a container line with no header: %q", d.section, m[0])
		}
		d.listed = append(d.listed, m[1])
	}},
	{"kept", re(`   (v\d+) serves; (v\d+) is kept running, unrouted, for (\d+) s in case (v\d+) fails, then removed`), checkKept},
	{"removed", re(`   (v\d+) removed (\d+) ms after the (push|rollback)`), func(d *demo, m []string) {
		f := d.fact("removed", func(f fact) bool { return f.Removed != "" })
		old := d.state.byTag[m[1]]
		if f.Removed != m[1] || f.MS != atoi(m[2]) || old.ID == "" || d.exists(old.ID) {
			d.t.Errorf("[%s] %q: summary %+v; container %s exists: %v", d.section, m[0], f, old.Name, d.exists(old.ID))
		}
	}},
	{"client", re(`   client: (\d+) requests from the (push|rollback) until then, (\d+) failed \((.*)\)`), checkClient},

	{"push v3", re(`==> push v3-unhealthy: its health check fails for 5 s \(healthTimeout\), so it must never serve`), func(d *demo, _ []string) {
		ev := d.newest()
		if d.state.controller["tinyforge.workloads."+d.name+".healthTimeout"] != "5s" || ev.Took < 5*time.Second {
			d.t.Errorf("health timeout 5 s: label %q, the failed deploy took %s", d.state.controller["tinyforge.workloads."+d.name+".healthTimeout"], ev.Took)
		}
		if n := d.state.window.bodies["v3-unhealthy"]; n > 0 {
			d.t.Errorf("v3-unhealthy was served %d times", n)
		}
	}},
	{"still serves", re(`   v2 still serves: curl -H 'Host: (\S+)' http://(\S+)/ -> (\S*)`), func(d *demo, m []string) {
		if m[1] != d.name+".localhost" || m[2] != d.caddyHTTP || m[3] != "v2" || d.state.body != "v2" {
			d.t.Errorf("%q: Caddy answers %q", m[0], d.state.body)
		}
	}},

	{"rollback", re(`==> roll back with the CLI: the sidecar redeploys the previous successful image, blue-green`), func(*demo, []string) {}}, // see "queued"
	{"cli", re(`   \$ TINYFORGE_URL=http://(\S+) TINYFORGE_API_TOKEN=(\S+) (\S+) rollback (\S+)`), func(d *demo, m []string) {
		if m[1] != d.sidecar || m[2] != apiToken || m[3] != d.bin || m[4] != d.name {
			d.t.Errorf("%q: want the sidecar %s, token %s, binary %s, workload %s", m[0], d.sidecar, apiToken, d.bin, d.name)
		}
	}},
	{"queued", re(`   rollback of (\S+) queued: (\S+) \((sha256:[0-9a-f]{64})\)`), func(d *demo, m []string) {
		if m[1] != d.name || m[2] != d.repo()+":v1" || m[3] != d.state.digests["v1"] || m[3] == d.state.digests["v2"] {
			d.t.Errorf("%q: want %s:v1 (%s), the previous successful image", m[0], d.repo(), d.state.digests["v1"])
		}
	}},

	{"history", re(`==> the history: tinyforge deploys (\S+) \(newest first; each step with the time since the one before\)`), checkHistoryHeading},
	{"history header", re(`   FINISHED +DEPLOY +TOOK +IMAGE +DIGEST +SOURCE +OUTCOME`), func(*demo, []string) {}},
	{"deploy line", re(`   (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)  (\S+) +(\S+) +(\S+) +(\S+) +(\S+) +(.+)`), checkDeployLine},
	{"steps line", re(`       steps: (.+)`), checkStepsLine},

	{"cleaning up", re(`==> cleaning up`), func(*demo, []string) {}}, // see "removed counts" and checkNothingLeft
	{"removed counts", re(`   removed (\d+) containers?, (\d+) networks?, (\d+) images?`), func(d *demo, m []string) {
		c := d.state.counted
		if atoi(m[1]) != int64(len(c.containers)) || atoi(m[2]) != int64(len(c.networks)) || atoi(m[3]) != int64(len(c.images)) {
			d.t.Errorf("%q: at the last checkpoint the demo had %d containers, %d networks, %d images",
				m[0], len(c.containers), len(c.networks), len(c.images))
		}
	}},
}

func re(s string) *regexp.Regexp { return regexp.MustCompile("^" + s + "$") }

func (d *demo) repo() string { return "127.0.0.1:" + itoa(d.registryPort) + "/" + d.name + "/app" }
