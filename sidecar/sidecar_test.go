package sidecar

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
)

func TestParseFlagsWinOverEnvironment(t *testing.T) {
	env := map[string]string{
		"TINYFORGE_LISTEN":  ":1111",
		"TINYFORGE_NETWORK": "from-env",
		"TINYFORGE_DRAIN":   "7s",
		"TINYFORGE_LABELS":  "team=a,tier=web",
	}
	c, err := Parse([]string{"--network", "from-flag"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":1111" || c.Network != "from-flag" || c.Drain != 7*time.Second || c.RedisURL != "redis://127.0.0.1:6379/0" {
		t.Fatalf("config = %+v", c)
	}
	if c.Labels["team"] != "a" || c.Labels["tier"] != "web" {
		t.Fatalf("labels = %v", c.Labels)
	}
}

func TestParseRefusesBadSettings(t *testing.T) {
	cases := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"proxy":        {args: []string{"--proxy", "haproxy"}, want: `--proxy "haproxy"`},
		"env duration": {env: map[string]string{"TINYFORGE_DRAIN": "soon"}, want: "TINYFORGE_DRAIN"},
		"flag":         {args: []string{"--drain", "soon"}, want: "invalid value"},
		"labels":       {args: []string{"--labels", "novalue"}, want: `"novalue": want key=value`},
		"own labels":   {args: []string{"--labels", "tinyforge.managed=true"}, want: "tinyforge.* labels are the sidecar's own"},
		"extra arg":    {args: []string{"now"}, want: `unexpected argument "now"`},
		"interval":     {args: []string{"--reconcile-interval", "0s"}, want: "--reconcile-interval"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(c.args, func(k string) string { return c.env[k] })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func controller(name string, created int64, lbls map[string]string) deployer.Container {
	return deployer.Container{ID: name, Name: name, Running: true, Created: time.Unix(created, 0), Labels: lbls}
}

func TestCollectWorkloads(t *testing.T) {
	web := map[string]string{"tinyforge.workloads.web.image": "reg/web", "tinyforge.workloads.web.port": "80"}
	list := []deployer.Container{
		controller("second", 2, map[string]string{
			"tinyforge.workloads.web.image": "reg/web", "tinyforge.workloads.web.port": "80", // same as first
			"tinyforge.workloads.api.image": "reg/other", "tinyforge.workloads.api.port": "81",
		}),
		controller("first", 1, map[string]string{
			"tinyforge.workloads.web.image": web["tinyforge.workloads.web.image"], "tinyforge.workloads.web.port": "80",
			"tinyforge.workloads.api.image": "reg/api", "tinyforge.workloads.api.port": "81",
			"tinyforge.workloads.bad.image": "reg/bad", "tinyforge.workloads.bad.port": "80a",
		}),
		{ID: "stopped", Name: "stopped", Labels: map[string]string{"tinyforge.workloads.off.image": "reg/off"}},
	}
	ws, problems := collectWorkloads(list, nil)
	if len(ws) != 1 || ws["web"] == nil || ws["web"].Image != "reg/web" {
		t.Fatalf("workloads = %v, want web only (declared identically twice; api conflicts; bad is invalid)", ws)
	}
	if p := strings.Join(problems["first"], "\n"); !strings.Contains(p, `tinyforge.workloads.bad.port: "80a"`) {
		t.Fatalf("problems of first = %q", p)
	}
	for _, ctl := range []string{"first", "second"} {
		if p := strings.Join(problems[ctl], "\n"); !strings.Contains(p, "workload api is declared differently by controllers first, second") {
			t.Fatalf("problems of %s = %q, want the api conflict", ctl, p)
		}
	}
}

func TestOrphansAreReportedAndExpireAfterGrace(t *testing.T) {
	var o orphans
	o.since = map[string]time.Time{}
	managed := func(workload string) deployer.Container {
		return deployer.Container{Labels: map[string]string{"tinyforge.managed": "true", "tinyforge.workload": workload}}
	}
	snapshot := []deployer.Container{managed("web"), managed("old"), managed("old")}
	declared := map[string]*labels.Workload{"web": {Name: "web"}}
	t0 := time.Unix(1000, 0)

	status, expired := o.update(snapshot, declared, t0, time.Minute)
	if len(status) != 1 || status["old"].Containers != 2 || !status["old"].Since.Equal(t0) || len(expired) != 0 {
		t.Fatalf("first pass: status %v, expired %v", status, expired)
	}
	if _, expired = o.update(snapshot, declared, t0.Add(59*time.Second), time.Minute); len(expired) != 0 {
		t.Fatalf("expired before the grace: %v", expired)
	}
	if _, expired = o.update(snapshot, declared, t0.Add(time.Minute), time.Minute); !slices.Equal(expired, []string{"old"}) {
		t.Fatalf("expired = %v, want [old]", expired)
	}
	// Declared again (a compose recreate): no longer an orphan, clock reset.
	declared["old"] = &labels.Workload{Name: "old"}
	if status, _ = o.update(snapshot, declared, t0.Add(2*time.Minute), time.Minute); len(status) != 0 {
		t.Fatalf("redeclared workload still orphaned: %v", status)
	}
	delete(declared, "old")
	if status, expired = o.update(snapshot, declared, t0.Add(3*time.Minute), time.Minute); len(expired) != 0 || !status["old"].Since.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("orphan clock not reset: %v %v", status, expired)
	}
}
