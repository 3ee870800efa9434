package labelscli

import (
	"fmt"
	"strings"
	"testing"
)

// ctrl builds a controller from "k=v" labels.
func ctrl(source string, kv ...string) Controller {
	ls := map[string]string{"tinyforge.enable": "true"}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		ls[k] = v
	}
	return Controller{Source: source, Labels: ls}
}

func TestCheckConflicts(t *testing.T) {
	web := []string{"tinyforge.workloads.web.image=r.example/web", "tinyforge.workloads.web.port=80", "tinyforge.workloads.web.faces.www.subdomain=www"}
	tests := []struct {
		name     string
		ctrls    []Controller
		differ   []string // of the one conflict; nil for none
		warnings int
	}{
		{"one declaration", []Controller{ctrl("a", web...)}, nil, 0},
		{"identical", []Controller{ctrl("a", web...), ctrl("b", web...)}, nil, 1},
		{
			"different port and env value",
			[]Controller{
				ctrl("a", append(web, "tinyforge.workloads.web.env.K=1")...),
				ctrl("b", append(web[:1:1], "tinyforge.workloads.web.port=81", "tinyforge.workloads.web.faces.www.subdomain=www", "tinyforge.workloads.web.env.K=2")...),
			},
			[]string{"env.K", "port"}, 0,
		},
		{
			// The same workload labels under a different settings.domain
			// route to another host: a conflict too.
			"different settings",
			[]Controller{ctrl("a", web...), ctrl("b", append(web, "tinyforge.settings.domain=other.example")...)},
			[]string{"settings.domain"}, 0,
		},
		{
			// An invalid declaration is reported as such, not as a conflict.
			"second declaration invalid",
			[]Controller{ctrl("a", web...), ctrl("b", "tinyforge.workloads.web.image=r.example/web", "tinyforge.workloads.web.port=x")},
			nil, 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(tt.ctrls, "example.com")
			switch {
			case tt.differ == nil && len(r.Conflicts) != 0:
				t.Errorf("conflicts %+v, want none", r.Conflicts)
			case tt.differ != nil && len(r.Conflicts) != 1:
				t.Errorf("conflicts %+v, want one", r.Conflicts)
			case tt.differ != nil:
				c := r.Conflicts[0]
				if strings.Join(c.Differ, ",") != strings.Join(tt.differ, ",") || strings.Join(c.Sources, ",") != "a,b" {
					t.Errorf("conflict %+v, want differ %v between a and b", c, tt.differ)
				}
				if strings.Contains(c.Message, "=1") || strings.Contains(c.Message, "=2") {
					t.Errorf("message shows an env value: %s", c.Message)
				}
			}
			if len(r.Warnings) != tt.warnings {
				t.Errorf("warnings %+v, want %d", r.Warnings, tt.warnings)
			}
			if r.Failed() != (len(r.Conflicts) > 0 || r.ErrorCount() > 0) {
				t.Errorf("Failed() = %v with %d errors", r.Failed(), r.ErrorCount())
			}
		})
	}
}

func TestCheckFaceHosts(t *testing.T) {
	r := Check([]Controller{
		ctrl("default", "tinyforge.workloads.a.image=r.example/a", "tinyforge.workloads.a.port=80",
			"tinyforge.workloads.a.faces.f.subdomain=www", "tinyforge.workloads.a.faces.apex.domain=apex.example", "tinyforge.workloads.a.faces.apex.tls=true"),
		ctrl("settings", "tinyforge.settings.domain=set.example", "tinyforge.workloads.b.image=r.example/b", "tinyforge.workloads.b.port=80",
			"tinyforge.workloads.b.faces.f.subdomain=www", "tinyforge.workloads.b.faces.f.targetPort=81"),
	}, "flag.example")
	got := map[string]string{}
	for _, c := range r.Controllers {
		for _, w := range c.Workloads {
			for _, f := range w.Faces {
				got[w.Name+"."+f.Name] = fmt.Sprintf("%s %d", f.URL, f.Port)
			}
		}
	}
	want := map[string]string{
		"a.f":    "http://www.flag.example/ 80",
		"a.apex": "https://apex.example/ 80",
		"b.f":    "http://www.set.example/ 81",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("face %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestNearestLine(t *testing.T) {
	lines := map[string]int{
		"tinyforge.enable":                          3,
		"tinyforge.workloads.web.image":             5,
		"tinyforge.workloads.web.volumes.d.target":  9,
		"tinyforge.workloads.web.volumes.d.name":    8,
		"tinyforge.workloads.api.faces.www.tls":     12,
		"tinyforge.workloads.apiary.image":          2, // shares "api" as a string prefix, not as a segment
		"tinyforge.workloads.web.volumes.dd.target": 1,
	}
	tests := []struct {
		key  string
		want int
	}{
		{"tinyforge.workloads.web.image", 5},
		{"tinyforge.workloads.web.volumes.d.scope", 8},
		{"tinyforge.workloads.api.image", 12},
		{"tinyforge.workloads.api.port", 12},
		{"tinyforge.settings.domain", 0},
		{"tinyforge.workloads.api", 12},            // a group key: its own labels
		{"tinyforge.workloads.gone.image", 0},      // never another workload's line
		{"tinyforge.workloads.web.faces.x.tls", 1}, // the workload's first label
	}
	for _, tt := range tests {
		if got := nearestLine(lines, tt.key); got != tt.want {
			t.Errorf("nearestLine(%s) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

func TestNotController(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"com.example": "x"}, ""},
		{map[string]string{"tinyforge.workloads.web.image": "x"}, "no tinyforge.enable=true"},
		{map[string]string{"tinyforge.Enable": "true"}, "no tinyforge.enable=true"},
		{map[string]string{"TinyForge.enable": "true"}, "no tinyforge.enable=true"},
		{map[string]string{"tinyforge.enable": "1"}, `tinyforge.enable="1", not "true"`},
		{map[string]string{"tinyforge.enable": "false"}, `tinyforge.enable="false", not "true"`},
	}
	for _, tt := range tests {
		got := notController(tt.labels)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("notController(%v) = %q, want %q", tt.labels, got, tt.want)
		}
	}
}
