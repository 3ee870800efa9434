package labels

import (
	"errors"
	"reflect"
	"strings"
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

// labelErrorCases are bad labels and every message they must produce,
// sorted by key; FuzzWorkloads uses them as seeds.
var labelErrorCases = []struct {
	name   string
	labels map[string]string
	want   []string
}{
	{
		name:   "bad int",
		labels: web("tinyforge.workloads.web.port", "80a"),
		want:   []string{`tinyforge.workloads.web.port: "80a" is not a valid int`},
	},
	{
		name:   "int out of range",
		labels: web("tinyforge.workloads.web.maxInstances", "99999999999999999999"),
		want:   []string{`tinyforge.workloads.web.maxInstances: "99999999999999999999" is out of range for int`},
	},
	{
		name:   "unknown key",
		labels: web("tinyforge.workloads.web.prot", "80"),
		want:   []string{`tinyforge.workloads.web.prot: unknown key "prot" (known keys here: image, port, healthcheck, healthTimeout, defaultTag, maxInstances, env, faces)`},
	},
	{
		name:   "unknown key in the middle",
		labels: web("tinyforge.workloads.web.face.public.subdomain", "www"),
		want:   []string{`tinyforge.workloads.web.face.public.subdomain: unknown key "face" (known keys here: image, port, healthcheck, healthTimeout, defaultTag, maxInstances, env, faces)`},
	},
	{
		name:   "unknown face key",
		labels: web("tinyforge.workloads.web.faces.public.host", "www"),
		want:   []string{`tinyforge.workloads.web.faces.public.host: unknown key "host" (known keys here: subdomain, domain, targetPort)`},
	},
	{
		name:   "name is not a label",
		labels: web("tinyforge.workloads.web.name", "other"),
		want:   []string{`tinyforge.workloads.web.name: unknown key "name" (known keys here: image, port, healthcheck, healthTimeout, defaultTag, maxInstances, env, faces)`},
	},
	{
		name:   "unknown controller key",
		labels: web("tinyforge.port", "80"),
		want:   []string{`tinyforge.port: unknown key "port" (known keys here: enable, workloads)`},
	},
	{
		name:   "bad bool",
		labels: web("tinyforge.enable", "yes"),
		want:   []string{`tinyforge.enable: "yes" is not a valid bool (use true or false)`},
	},
	{
		name:   "bad duration",
		labels: web("tinyforge.workloads.web.healthTimeout", "5 minutes"),
		want:   []string{`tinyforge.workloads.web.healthTimeout: "5 minutes" is not a valid duration (use 90s, 5m, 1h30m, or a number of seconds)`},
	},
	{
		name:   "value on a leaf with sub-keys",
		labels: web("tinyforge.workloads.web.port.number", "80"),
		want:   []string{`tinyforge.workloads.web.port.number: "port" takes a value and has no sub-keys`},
	},
	{
		name:   "value on a group",
		labels: web("tinyforge.workloads.web.env", "FOO=bar"),
		want:   []string{`tinyforge.workloads.web.env: "env" is a group of keys and takes no value of its own: set the keys below it (env.<key>)`},
	},
	{
		name:   "value on a workload",
		labels: web("tinyforge.workloads.web", "true"),
		want:   []string{`tinyforge.workloads.web: "web" is a group of keys and takes no value of its own: set the keys below it (web.<key>)`},
	},
	{
		name:   "value on a face",
		labels: web("tinyforge.workloads.web.faces.public", "www"),
		want:   []string{`tinyforge.workloads.web.faces.public: "public" is a group of keys and takes no value of its own: set the keys below it (public.<key>)`},
	},
	{
		name:   "value on workloads",
		labels: web("tinyforge.workloads", "web"),
		want:   []string{`tinyforge.workloads: "workloads" is a group of keys and takes no value of its own: set the keys below it (workloads.<key>)`},
	},
	{
		name:   "empty segment",
		labels: web("tinyforge.workloads.web..image", "x"),
		want:   []string{`tinyforge.workloads.web..image: empty segment (two dots in a row, or a trailing dot)`},
	},
	{
		name:   "trailing dot",
		labels: web("tinyforge.", "x"),
		want:   []string{`tinyforge.: empty segment (two dots in a row, or a trailing dot)`},
	},
	{
		name:   "stray bracket (panics paerser)",
		labels: web("tinyforge.workloads.web]", "x"),
		want:   []string{`tinyforge.workloads.web]: malformed segment "web]": brackets may only hold a list index, as in name[0]`},
	},
	{
		name:   "index on a map key",
		labels: web("tinyforge.workloads.web.env.A[0]", "x"),
		want:   []string{`tinyforge.workloads.web.env.A[0]: brackets are for list keys only, not in the name "A[0]"`},
	},
	{
		name:   "index on a field that is not a list",
		labels: web("tinyforge.workloads.web.image[0]", "x"),
		want:   []string{`tinyforge.workloads.web.image[0]: "image" is not a list: remove "[0]"`},
	},
	{
		name:   "wrongly cased root",
		labels: web("TinyForge.workloads.web.port", "80"),
		want:   []string{`TinyForge.workloads.web.port: the label root must be written "tinyforge." in lowercase`},
	},
	{
		name:   "env names differing only by case",
		labels: web("tinyforge.workloads.web.env.FOO", "secret1", "tinyforge.workloads.web.env.foo", "secret2"),
		want:   []string{`tinyforge.workloads.web.env.foo: same key as tinyforge.workloads.web.env.FOO: keys are case-insensitive after "tinyforge.", so one would silently replace the other`},
	},
	{
		name:   "same field twice",
		labels: web("tinyforge.workloads.web.Port", "81"),
		want:   []string{`tinyforge.workloads.web.port: same key as tinyforge.workloads.web.Port: keys are case-insensitive after "tinyforge.", so one would silently replace the other`},
	},
	{
		name:   "missing image",
		labels: web("tinyforge.workloads.web.image", ""),
		want:   []string{`tinyforge.workloads.web.image: missing: set the image repository, e.g. registry.example.com/team/web`},
	},
	{
		name:   "image with tag",
		labels: web("tinyforge.workloads.web.image", "127.0.0.1:5000/team/web:v1"),
		want:   []string{`tinyforge.workloads.web.image: "127.0.0.1:5000/team/web:v1" has a tag: give the repository only and put the tag in defaultTag`},
	},
	{
		name:   "image with tag, no slash",
		labels: web("tinyforge.workloads.web.image", "localhost:5000"),
		want:   []string{`tinyforge.workloads.web.image: "localhost:5000" has a tag: give the repository only and put the tag in defaultTag`},
	},
	{
		name:   "image with digest",
		labels: web("tinyforge.workloads.web.image", "r/web@sha256:fe6664b6f4cb7108cac7161fedc8ad9f316cb1caeab6a736bfddc48e9c29e4b3"),
		want:   []string{`tinyforge.workloads.web.image: "r/web@sha256:fe6664b6f4cb7108cac7161fedc8ad9f316cb1caeab6a736bfddc48e9c29e4b3" has a digest: give the repository only; the tag comes from the webhook or defaultTag`},
	},
	{
		name:   "image with uppercase path",
		labels: web("tinyforge.workloads.web.image", "registry.example.com/Team/web"),
		want:   []string{`tinyforge.workloads.web.image: "registry.example.com/Team/web" is not a valid image repository: [host[:port]/]path, path components in lowercase letters, digits and . _ -`},
	},
	{
		name:   "port out of range",
		labels: web("tinyforge.workloads.web.port", "70000"),
		want:   []string{`tinyforge.workloads.web.port: 70000 is out of range (1-65535)`},
	},
	{
		name:   "negative port",
		labels: web("tinyforge.workloads.web.port", "-1"),
		want:   []string{`tinyforge.workloads.web.port: -1 is out of range (1-65535)`},
	},
	{
		name:   "port missing with a face",
		labels: web("tinyforge.workloads.web.port", ""),
		want:   []string{`tinyforge.workloads.web.port: missing: the container port is required when the workload has a healthcheck or an enabled face`},
	},
	{
		name: "port 0 with a healthcheck",
		labels: web("tinyforge.workloads.web.port", "0", "tinyforge.workloads.web.faces.public.subdomain", "",
			"tinyforge.workloads.web.healthcheck", "/up"),
		want: []string{`tinyforge.workloads.web.port: missing: the container port is required when the workload has a healthcheck or an enabled face`},
	},
	{
		name:   "relative healthcheck",
		labels: web("tinyforge.workloads.web.healthcheck", "healthz"),
		want:   []string{`tinyforge.workloads.web.healthcheck: "healthz" must be a URL path starting with / and without spaces, e.g. /healthz`},
	},
	{
		name:   "negative healthTimeout",
		labels: web("tinyforge.workloads.web.healthTimeout", "-5s"),
		want:   []string{`tinyforge.workloads.web.healthTimeout: -5s is negative`},
	},
	{
		name:   "negative maxInstances",
		labels: web("tinyforge.workloads.web.maxInstances", "-2"),
		want:   []string{`tinyforge.workloads.web.maxInstances: -2 is negative (0 and 1 both mean strict blue-green)`},
	},
	{
		name:   "bad defaultTag",
		labels: web("tinyforge.workloads.web.defaultTag", "-v1"),
		want:   []string{`tinyforge.workloads.web.defaultTag: "-v1" is not a valid image tag (up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-')`},
	},
	{
		name:   "face targetPort out of range",
		labels: web("tinyforge.workloads.web.faces.public.targetPort", "65536"),
		want:   []string{`tinyforge.workloads.web.faces.public.targetPort: 65536 is out of range (1-65535; 0 or unset means the workload port)`},
	},
	{
		name:   "env name with =",
		labels: web("tinyforge.workloads.web.env.A=B", "secret"),
		want:   []string{`tinyforge.workloads.web.env.A=B: environment variable name "A=B" must not contain '=' or NUL`},
	},
	{
		name:   "workload name not DNS-safe",
		labels: map[string]string{"tinyforge.workloads.Web_1.image": "r/web"},
		want:   []string{`tinyforge.workloads.Web_1: workload name "Web_1" must be a DNS label: 1-63 lowercase letters, digits or '-', not starting or ending with '-'`},
	},
	{
		name: "several problems of one workload at once",
		labels: map[string]string{
			"tinyforge.workloads.-bad.image":       "r/x:1",
			"tinyforge.workloads.-bad.port":        "0",
			"tinyforge.workloads.-bad.healthcheck": "up",
		},
		want: []string{
			`tinyforge.workloads.-bad: workload name "-bad" must be a DNS label: 1-63 lowercase letters, digits or '-', not starting or ending with '-'`,
			`tinyforge.workloads.-bad.healthcheck: "up" must be a URL path starting with / and without spaces, e.g. /healthz`,
			`tinyforge.workloads.-bad.image: "r/x:1" has a tag: give the repository only and put the tag in defaultTag`,
			`tinyforge.workloads.-bad.port: missing: the container port is required when the workload has a healthcheck or an enabled face`,
		},
	},
	{
		name: "several decode problems of one workload at once",
		labels: map[string]string{
			"tinyforge.workloads.x.image":         "r/x",
			"tinyforge.workloads.x.port":          "eighty",
			"tinyforge.workloads.x.maxInstances":  "2.5",
			"tinyforge.workloads.x.healthTimeout": "soon",
		},
		want: []string{
			`tinyforge.workloads.x.healthTimeout: "soon" is not a valid duration (use 90s, 5m, 1h30m, or a number of seconds)`,
			`tinyforge.workloads.x.maxInstances: "2.5" is not a valid int`,
			`tinyforge.workloads.x.port: "eighty" is not a valid int`,
		},
	},
}

// TestLabelErrors checks that every problem names the full label key, and
// that Workloads keeps the good workloads next to a bad one.
func TestLabelErrors(t *testing.T) {
	for _, tt := range labelErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			ws, errs := Workloads(tt.labels)
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
				var le *Error
				if !errors.As(err, &le) || le.Key == "" {
					t.Errorf("%v is not an *Error with a key", err)
				}
				if strings.Contains(err.Error(), "secret") || le != nil && strings.Contains(le.Value, "secret") {
					t.Errorf("error leaks an env value: %v", err)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors:\n got %q\nwant %q", got, tt.want)
			}
			for name, w := range ws {
				if err := w.Validate(); err != nil {
					t.Errorf("returned workload %s is invalid: %v", name, err)
				}
			}

			// Decode and Validate together report the same problems.
			c, err := Decode(tt.labels)
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("Decode+Validate accepted bad labels")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Decode+Validate error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestWorkloadsIsolatesBadWorkloads(t *testing.T) {
	m := map[string]string{
		"tinyforge.enable":                  "maybe",
		"tinyforge.workloads.good.image":    "r/good",
		"tinyforge.workloads.good.env.X":    "1",
		"tinyforge.workloads.typo.image":    "r/typo",
		"tinyforge.workloads.typo.prot":     "80",
		"tinyforge.workloads.badint.image":  "r/badint",
		"tinyforge.workloads.badint.port":   "x",
		"tinyforge.workloads.invalid.image": "r/invalid:latest",
		"tinyforge.workloads.Good2.image":   "r/good2",
		"tinyforge.workloads.good2.port":    "80",
	}
	ws, errs := Workloads(m)
	if len(ws) != 1 || ws["good"] == nil || ws["good"].Env["X"] != "1" {
		t.Fatalf("workloads: %v", ws)
	}
	wantWorkloads := map[string]bool{"": true, "typo": true, "badint": true, "invalid": true, "Good2": true}
	if len(errs) != len(wantWorkloads) {
		t.Fatalf("want %d errors, got %q", len(wantWorkloads), errs)
	}
	for _, err := range errs {
		var le *Error
		if !errors.As(err, &le) || !wantWorkloads[le.Workload] {
			t.Errorf("unexpected error %v (workload %q)", err, le.Workload)
		}
	}

	if _, err := Decode(m); err == nil {
		t.Fatal("Decode accepted bad labels")
	}
}

// TestWorkloadsReportsEverything checks that decode and key problems do not
// hide the validation problems of the rest of the workload, and that a bad
// value is not reported a second time as missing.
func TestWorkloadsReportsEverything(t *testing.T) {
	_, errs := Workloads(map[string]string{
		"tinyforge.workloads.web.image":                  "r/web:v1",
		"tinyforge.workloads.web.Port":                   "80a",
		"tinyforge.workloads.web.prot":                   "80",
		"tinyforge.workloads.web.healthcheck":            "up",
		"tinyforge.workloads.web.faces.public.subdomain": "www",
	})
	want := []string{
		`tinyforge.workloads.web.Port: "80a" is not a valid int`,
		`tinyforge.workloads.web.healthcheck: "up" must be a URL path starting with / and without spaces, e.g. /healthz`,
		`tinyforge.workloads.web.image: "r/web:v1" has a tag: give the repository only and put the tag in defaultTag`,
		`tinyforge.workloads.web.prot: unknown key "prot" (known keys here: image, port, healthcheck, healthTimeout, defaultTag, maxInstances, env, faces)`,
	}
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestErrorQuotesOddKeys(t *testing.T) {
	_, errs := Workloads(map[string]string{"tinyforge.work loads\n": "x"})
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), `"tinyforge.work loads\n": `) {
		t.Fatalf("got %q", errs)
	}
}
