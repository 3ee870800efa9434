package controllers

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
)

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
	got := collectWorkloads(list, nil, nil)
	keepAgreed(got.workloads, got.problems, got.conflicts, got.declarations, nil)
	ws, problems, found := got.workloads, got.problems, got.findings
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
	if got := strings.Join(found.Conflicts["api"], ","); len(found.Conflicts) != 1 || got != "first,second" {
		t.Fatalf("conflicts = %v, want api declared by first,second", found.Conflicts)
	}
	if len(found.Invalid) != 1 || len(found.Invalid["bad"]) != 1 || !strings.Contains(found.Invalid["bad"][0], "bad.port") {
		t.Fatalf("invalid = %v, want the port problem of bad", found.Invalid)
	}
}

func TestAdmitLeavesAWorkloadOut(t *testing.T) {
	list := []deployer.Container{controller("ctl", 1, map[string]string{
		"tinyforge.settings.network":    "stack_control",
		"tinyforge.workloads.web.image": "reg/web", "tinyforge.workloads.web.port": "80",
	}), controller("good", 2, map[string]string{
		"tinyforge.settings.network":    "tinyforge",
		"tinyforge.workloads.api.image": "reg/api", "tinyforge.workloads.api.port": "80",
	})}
	admit := func(w *labels.Workload) error {
		if w.Settings.Network != "tinyforge" {
			return errors.New("network " + w.Settings.Network + " refused")
		}
		return nil
	}
	got := collectWorkloads(list, admit, nil)
	ws, problems := got.workloads, got.problems
	if ws["web"] != nil || ws["api"] == nil {
		t.Fatalf("workloads = %v, want api only", ws)
	}
	if got := strings.Join(problems["ctl"], "\n"); got != "network stack_control refused" {
		t.Errorf("problems of ctl = %q", got)
	}
	if len(problems["good"]) != 0 {
		t.Errorf("problems of good = %v", problems["good"])
	}
}
