package labels

import (
	"time"

	"github.com/traefik/paerser/types"
)

// Sample is a valid controller that sets every label at least once, with
// a volume of every scope. The schema reference shows it as its example,
// tests and the fuzzer start from it, and forms can be prefilled from it.
// Each call returns a fresh copy.
func Sample() *Controller {
	c := &Controller{
		Enable: true,
		Scope:  "production",
		// A placeholder: tinyforge labels sign computes the real one.
		Signature: "v1:<hmac-sha256 of the other tinyforge.* labels>",
		Settings: Settings{
			Network:        "tinyforge",
			Domain:         "example.com",
			BaseVolumePath: "/srv/tinyforge/volumes",
		},
		Workloads: map[string]*Workload{
			"web": {
				Name:           "web",
				Image:          "registry.example.com/team/web",
				Registry:       "example",
				Port:           8080,
				Healthcheck:    "/healthz",
				HealthTimeout:  types.Duration(90 * time.Second),
				HealthInterval: types.Duration(500 * time.Millisecond),
				HealthStatus:   "200-299,304",
				HealthHost:     "www.example.com",
				HealthPort:     8081,
				DefaultTag:     "v1.4.2",
				Tags:           `/v[0-9]+\.[0-9]+\.[0-9]+(-rc\.[0-9]+)?/`,
				Policy:         "semver-minor",
				Prerelease:     true,
				MaxInstances:   2,
				CPULimit:       1.5,
				MemoryLimit:    512,
				PidsLimit:      256,
				Replicas:       2,
				Placement:      Placement{Constraints: "node.role==worker", Preferences: "node.labels.zone"},
				Command:        `serve --listen :8080 --motd "Hello, world"`,
				Entrypoint:     `["/usr/bin/tini", "--"]`,
				Release: Release{
					Command: "web migrate --yes",
					Timeout: types.Duration(10 * time.Minute),
					Env:     map[string]string{"MIGRATE_LOCK": "1"},
				},
				Env: map[string]string{"LOG_LEVEL": "info", "APP_MODE": "production"},
				Volumes: map[string]*Volume{
					"config":  {Target: "/etc/web", Source: "/srv/data/web/config", Scope: ScopeAbsolute, ReadOnly: true},
					"tmp":     {Target: "/tmp", Scope: ScopeEphemeral},
					"cache":   {Target: "/var/cache/web", Scope: ScopeInstance},
					"uploads": {Target: "/srv/uploads", Scope: ScopeStage},
					"db":      {Target: "/var/lib/web", Scope: ScopeProjectNamed, Name: "data"},
				},
				Faces: map[string]*Face{
					"public": {Subdomain: "www", TLS: true},
					"admin":  {Subdomain: "admin", Domain: "internal.example.com", TargetPort: 9090, AccessList: "3", TLS: true, DNS: new(bool)},
				},
			},
			"worker": {
				Name:              "worker",
				Image:             "registry.example.com/team/worker",
				Healthcheck:       "docker",
				HealthStartPeriod: types.Duration(30 * time.Second),
				DefaultTag:        "stable",
				Tags:              "stable, v*",
				Policy:            "all",
				Approval:          ApprovalManual,
				ApprovalTimeout:   types.Duration(24 * time.Hour),
				Poll:              types.Duration(5 * time.Minute),
				Notify:            "ops,oncall",
				Command:           `sh -c 'exec worker --queue "jobs, urgent"'`,
				Volumes: map[string]*Volume{
					"shared":  {Target: "/shared", Scope: ScopeProject},
					"models":  {Target: "/models", Scope: ScopeNamed, Name: "ml-models", ReadOnly: true},
					"scratch": {Target: "/scratch", Scope: ScopeProjectNamed},
				},
			},
		},
	}
	for _, w := range c.Workloads {
		w.Settings = c.Settings
	}
	return c
}
