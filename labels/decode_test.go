package labels

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/traefik/paerser/types"
)

// web returns the labels of a valid workload "web", with overrides applied
// (an empty value deletes the key).
func web(overrides ...string) map[string]string {
	m := map[string]string{
		"tinyforge.enable":                                   "true",
		"tinyforge.workloads.web.image":                      "127.0.0.1:5000/team/web",
		"tinyforge.workloads.web.port":                       "8080",
		"tinyforge.workloads.web.faces.public.subdomain":     "www",
		"com.docker.compose.project":                         "demo",
		"traefik.http.routers.web.rule":                      "Host(`x`)",
		"org.opencontainers.image.source":                    "https://example.com",
		"tinyforgeish.other":                                 "not ours",
		"tinyforge":                                          "no dot: not ours either",
		"com.docker.compose.config-hash":                     "abc",
		"com.docker.compose.service":                         "controller",
		"Tinyforge":                                          "no dot: not ours either",
		"maintainer":                                         "someone",
		"tinyforge_workloads_web_port":                       "junk",
		"io.tinyforge.workloads.web.port":                    "junk",
		"traefik.enable":                                     "true",
		"traefik.http.services.web.loadbalancer.server.port": "80",
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		if overrides[i+1] == "" {
			delete(m, overrides[i])
			continue
		}
		m[overrides[i]] = overrides[i+1]
	}
	return m
}

// fieldCases are valid controllers and the workload "web" they declare;
// FuzzWorkloads uses them as seeds.
var fieldCases = []struct {
	name   string
	labels map[string]string
	want   *Workload
}{
	{
		name:   "minimal",
		labels: web(),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080,
			Faces: map[string]*Face{"public": {Subdomain: "www"}}},
	},
	{
		name: "every field",
		labels: web(
			"tinyforge.workloads.web.healthcheck", "/healthz",
			"tinyforge.workloads.web.healthTimeout", "90s",
			"tinyforge.workloads.web.defaultTag", "stable",
			"tinyforge.workloads.web.maxInstances", "3",
			"tinyforge.workloads.web.env.FOO", "bar",
			"tinyforge.workloads.web.env.A.B", "x",
			"tinyforge.workloads.web.env.EMPTY", " ",
			"tinyforge.workloads.web.faces.public.domain", "example.com",
			"tinyforge.workloads.web.faces.admin.subdomain", "admin",
			"tinyforge.workloads.web.faces.admin.targetPort", "9090",
		),
		want: &Workload{
			Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080,
			Healthcheck: "/healthz", HealthTimeout: types.Duration(90 * time.Second),
			DefaultTag: "stable", MaxInstances: 3,
			Env: map[string]string{"FOO": "bar", "A.B": "x", "EMPTY": " "},
			Faces: map[string]*Face{
				"public": {Subdomain: "www", Domain: "example.com"},
				"admin":  {Subdomain: "admin", TargetPort: 9090},
			},
		},
	},
	{
		name: "keys are case-insensitive after the root",
		labels: web(
			"tinyforge.workloads.web.port", "",
			"tinyforge.Workloads.web.PORT", "81",
			"tinyforge.workloads.web.maxinstances", "2",
			"tinyforge.workloads.web.HEALTHCHECK", "/up",
			"tinyforge.workloads.web.HealthTimeout", "1m30s",
			"tinyforge.workloads.web.defaulttag", "v1",
			"tinyforge.workloads.web.faces.public.SubDomain", "",
			"tinyforge.workloads.web.faces.public.subdomain", "",
			"tinyforge.WORKLOADS.web.Faces.public.SUBDOMAIN", "www",
			"tinyforge.workloads.web.faces.public.targetport", "8081",
		),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 81,
			Healthcheck: "/up", HealthTimeout: types.Duration(90 * time.Second), DefaultTag: "v1", MaxInstances: 2,
			Faces: map[string]*Face{"public": {Subdomain: "www", TargetPort: 8081}}},
	},
	{
		name:   "healthTimeout as a bare integer means seconds",
		labels: web("tinyforge.workloads.web.healthTimeout", "45"),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080, HealthTimeout: types.Duration(45 * time.Second),
			Faces: map[string]*Face{"public": {Subdomain: "www"}}},
	},
	{
		name:   "env names keep their case and dots",
		labels: web("tinyforge.workloads.web.env.My.Var.x", "1", "tinyforge.workloads.web.env.lower", "2"),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080,
			Env:   map[string]string{"My.Var.x": "1", "lower": "2"},
			Faces: map[string]*Face{"public": {Subdomain: "www"}}},
	},
	{
		name: "port 0 is fine without faces or healthcheck",
		labels: web("tinyforge.workloads.web.port", "",
			"tinyforge.workloads.web.faces.public.subdomain", ""),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web"},
	},
	{
		name: "a disabled face does not need the port",
		labels: web("tinyforge.workloads.web.port", "",
			"tinyforge.workloads.web.faces.public.subdomain", "",
			"tinyforge.workloads.web.faces.public.targetPort", "0"),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Faces: map[string]*Face{"public": {}}},
	},
	{
		name: "registry, tags, limits, command and entrypoint",
		labels: web(
			"tinyforge.workloads.web.registry", "ghcr",
			"tinyforge.workloads.web.tags", "v*,stable",
			"tinyforge.workloads.web.defaultTag", "stable",
			"tinyforge.workloads.web.cpuLimit", "0.25",
			"tinyforge.workloads.web.memoryLimit", "256",
			"tinyforge.workloads.web.command", `sh -c "echo a, b"`,
			"tinyforge.workloads.web.entrypoint", `[]`,
		),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080,
			Registry: "ghcr", Tags: "v*,stable", DefaultTag: "stable", CPULimit: 0.25, MemoryLimit: 256,
			Command: `sh -c "echo a, b"`, Entrypoint: "[]",
			Faces: map[string]*Face{"public": {Subdomain: "www"}}},
	},
	{
		name: "limits at their bounds, semver regexp",
		labels: web(
			"tinyforge.workloads.web.CPULIMIT", "0.01",
			"tinyforge.workloads.web.memorylimit", "6",
			"tinyforge.workloads.web.tags", `/v\d+\.\d+\.\d+/`,
			"tinyforge.workloads.web.defaultTag", "v1.2.3",
		),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080,
			CPULimit: 0.01, MemoryLimit: 6, Tags: `/v\d+\.\d+\.\d+/`, DefaultTag: "v1.2.3",
			Faces: map[string]*Face{"public": {Subdomain: "www"}}},
	},
	{
		name: "a volume of every scope",
		labels: web(
			"tinyforge.workloads.web.volumes.host.target", "/etc/app",
			"tinyforge.workloads.web.volumes.host.source", "/srv/data/app",
			"tinyforge.workloads.web.volumes.host.scope", "absolute",
			"tinyforge.workloads.web.volumes.host.readOnly", "true",
			"tinyforge.workloads.web.volumes.tmp.target", "/tmp",
			"tinyforge.workloads.web.volumes.tmp.scope", "ephemeral",
			"tinyforge.workloads.web.volumes.cache.target", "/cache",
			"tinyforge.workloads.web.volumes.cache.scope", "instance",
			"tinyforge.workloads.web.volumes.uploads.target", "/uploads",
			"tinyforge.workloads.web.volumes.uploads.scope", "stage",
			"tinyforge.workloads.web.volumes.shared.target", "/shared",
			"tinyforge.workloads.web.volumes.shared.scope", "project",
			"tinyforge.workloads.web.volumes.db.target", "/var/lib/db",
			"tinyforge.workloads.web.volumes.db.scope", "project_named",
			"tinyforge.workloads.web.volumes.db.name", "data",
			"tinyforge.workloads.web.volumes.models.target", "/models",
			"tinyforge.workloads.web.volumes.models.scope", "named",
			"tinyforge.workloads.web.volumes.Plain_key-2.target", "/plain",
			"tinyforge.workloads.web.volumes.Plain_key-2.scope", "named",
		),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080,
			Volumes: map[string]*Volume{
				"host":        {Target: "/etc/app", Source: "/srv/data/app", Scope: ScopeAbsolute, ReadOnly: true},
				"tmp":         {Target: "/tmp", Scope: ScopeEphemeral},
				"cache":       {Target: "/cache", Scope: ScopeInstance},
				"uploads":     {Target: "/uploads", Scope: ScopeStage},
				"shared":      {Target: "/shared", Scope: ScopeProject},
				"db":          {Target: "/var/lib/db", Scope: ScopeProjectNamed, Name: "data"},
				"models":      {Target: "/models", Scope: ScopeNamed},
				"Plain_key-2": {Target: "/plain", Scope: ScopeNamed},
			},
			Faces: map[string]*Face{"public": {Subdomain: "www"}}},
	},
	{
		name: "face access list and tls",
		labels: web(
			"tinyforge.workloads.web.faces.public.accessList", "7",
			"tinyforge.workloads.web.faces.public.tls", "true",
			"tinyforge.workloads.web.faces.api.domain", "api.example.org",
			"tinyforge.workloads.web.faces.api.TLS", "false",
		),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080,
			Faces: map[string]*Face{
				"public": {Subdomain: "www", AccessList: "7", TLS: true},
				"api":    {Domain: "api.example.org"},
			}},
	},
	{
		name: "face dns opt-out",
		labels: web(
			"tinyforge.workloads.web.faces.public.dns", "false",
			"tinyforge.workloads.web.faces.api.domain", "api.example.org",
			"tinyforge.workloads.web.faces.api.dns", "true",
		),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080,
			Faces: map[string]*Face{
				"public": {Subdomain: "www", DNS: new(false)},
				"api":    {Domain: "api.example.org", DNS: new(true)},
			}},
	},
	{
		name:   "docker hub short name and registry with port",
		labels: web("tinyforge.workloads.web.image", "nginx"),
		want: &Workload{Name: "web", Image: "nginx", Port: 8080,
			Faces: map[string]*Face{"public": {Subdomain: "www"}}},
	},
}

func TestWorkloadsFields(t *testing.T) {
	for _, tt := range fieldCases {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := Workloads(tt.labels)
			if len(errs) > 0 {
				t.Fatalf("unexpected errors: %v", errors.Join(errs...))
			}
			if len(got) != 1 || !reflect.DeepEqual(got["web"], tt.want) {
				t.Fatalf("got %#v\nwant %#v", got["web"], tt.want)
			}

			c, err := Decode(tt.labels)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !c.Enable || !reflect.DeepEqual(c.Workloads["web"], tt.want) {
				t.Fatalf("Decode: got %#v", c)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestDecodeNoLabels(t *testing.T) {
	for _, m := range []map[string]string{nil, {}, {"com.docker.compose.project": "x", "tinyforge": "x"}} {
		c, err := Decode(m)
		if err != nil || c.Enable || len(c.Workloads) != 0 || c.Workloads == nil {
			t.Fatalf("Decode(%v) = %#v, %v", m, c, err)
		}
		ws, errs := Workloads(m)
		if len(ws) != 0 || len(errs) != 0 {
			t.Fatalf("Workloads(%v) = %v, %v", m, ws, errs)
		}
	}
}

func TestDecodeSeveralWorkloads(t *testing.T) {
	c, err := Decode(map[string]string{
		"tinyforge.enable":                "true",
		"tinyforge.workloads.web.image":   "r/web",
		"tinyforge.workloads.web.port":    "80",
		"tinyforge.workloads.api.image":   "r/api",
		"tinyforge.workloads.api-2.image": "r/api2",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Workloads) != 3 {
		t.Fatalf("got %d workloads", len(c.Workloads))
	}
	for name, w := range c.Workloads {
		if w.Name != name {
			t.Errorf("workload %q has Name %q", name, w.Name)
		}
	}
}
