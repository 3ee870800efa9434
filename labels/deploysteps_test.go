package labels

import (
	"reflect"
	"testing"
	"time"

	"github.com/traefik/paerser/types"
)

// The cases of the release, health, policy, approval and poll labels join
// the decode and error tables (and so the fuzzer's seeds) from here, to
// keep decode_test.go from growing further.
func init() {
	fieldCases = append(fieldCases, stepFieldCases...)
	labelErrorCases = append(labelErrorCases, stepErrorCases...)
}

// minimalWeb is the workload web() declares, for building expectations.
func minimalWeb(edit func(w *Workload)) *Workload {
	w := &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Port: 8080,
		Faces: map[string]*Face{"public": {Subdomain: "www"}}}
	edit(w)
	return w
}

func dur(d time.Duration) types.Duration { return types.Duration(d) }

var stepFieldCases = []struct {
	name   string
	labels map[string]string
	want   *Workload
}{
	{
		name: "release command, timeout and env",
		labels: web(
			"tinyforge.workloads.web.release.command", `web migrate --to "latest schema"`,
			"tinyforge.workloads.web.release.timeout", "90s",
			"tinyforge.workloads.web.release.env.MIGRATE", "1",
			"tinyforge.workloads.web.Release.Env.Lock.Name", "x",
		),
		want: minimalWeb(func(w *Workload) {
			w.Release = Release{Command: `web migrate --to "latest schema"`, Timeout: dur(90 * time.Second),
				Env: map[string]string{"MIGRATE": "1", "Lock.Name": "x"}}
		}),
	},
	{
		name: "http health options",
		labels: web(
			"tinyforge.workloads.web.healthcheck", "/up",
			"tinyforge.workloads.web.healthInterval", "1s",
			"tinyforge.workloads.web.healthStartPeriod", "2m",
			"tinyforge.workloads.web.healthStatus", "200-399, 401",
			"tinyforge.workloads.web.healthHost", "app.example.com:8443",
			"tinyforge.workloads.web.healthPort", "9000",
		),
		want: minimalWeb(func(w *Workload) {
			w.Healthcheck, w.HealthInterval, w.HealthStartPeriod = "/up", dur(time.Second), dur(2*time.Minute)
			w.HealthStatus, w.HealthHost, w.HealthPort = "200-399, 401", "app.example.com:8443", 9000
		}),
	},
	{
		name: "tcp health on its own port needs no workload port",
		labels: web("tinyforge.workloads.web.port", "", "tinyforge.workloads.web.faces.public.subdomain", "",
			"tinyforge.workloads.web.healthcheck", "tcp", "tinyforge.workloads.web.healthPort", "5432"),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Healthcheck: "tcp", HealthPort: 5432},
	},
	{
		name: "docker health needs no port",
		labels: web("tinyforge.workloads.web.port", "", "tinyforge.workloads.web.faces.public.subdomain", "",
			"tinyforge.workloads.web.healthcheck", "docker", "tinyforge.workloads.web.healthStartPeriod", "45"),
		want: &Workload{Name: "web", Image: "127.0.0.1:5000/team/web", Healthcheck: "docker",
			HealthStartPeriod: dur(45 * time.Second)},
	},
	{
		name: "semver policy with pre-releases, manual approval, polling",
		labels: web(
			"tinyforge.workloads.web.policy", "semver-patch",
			"tinyforge.workloads.web.prerelease", "true",
			"tinyforge.workloads.web.defaultTag", "v1.2.0",
			"tinyforge.workloads.web.approval", "manual",
			"tinyforge.workloads.web.approvalTimeout", "24h",
			"tinyforge.workloads.web.poll", "30s",
		),
		want: minimalWeb(func(w *Workload) {
			w.Policy, w.Prerelease, w.DefaultTag = "semver-patch", true, "v1.2.0"
			w.Approval, w.ApprovalTimeout, w.Poll = ApprovalManual, dur(24*time.Hour), dur(30*time.Second)
		}),
	},
	{
		name:   "a range policy",
		labels: web("tinyforge.workloads.web.policy", ">=1.4 <2", "tinyforge.workloads.web.approval", "auto", "tinyforge.workloads.web.poll", "1h"),
		want: minimalWeb(func(w *Workload) {
			w.Policy, w.Approval, w.Poll = ">=1.4 <2", ApprovalAuto, dur(time.Hour)
		}),
	},
}

var stepErrorCases = []struct {
	name   string
	labels map[string]string
	want   []string
}{
	{
		name: "release problems",
		labels: web("tinyforge.workloads.web.release.command", `migrate "unterminated`,
			"tinyforge.workloads.web.release.timeout", "-1s",
			"tinyforge.workloads.web.release.env.A=B", "secret"),
		want: []string{
			`tinyforge.workloads.web.release.command: "migrate \"unterminated": malformed command line: unterminated double quote`,
			`tinyforge.workloads.web.release.env.A=B: environment variable name "A=B" must not contain '=' or NUL`,
			`tinyforge.workloads.web.release.timeout: -1s is negative`,
		},
	},
	{
		name:   "release command without words",
		labels: web("tinyforge.workloads.web.release.command", `[]`),
		want:   []string{`tinyforge.workloads.web.release.command: "[]" has no words: remove the label to run no release command`},
	},
	{
		name:   "release timeout and env without a command",
		labels: web("tinyforge.workloads.web.release.timeout", "1m", "tinyforge.workloads.web.release.env.X", "secret"),
		want: []string{
			`tinyforge.workloads.web.release.env.X: has no effect without release.command: set the command or remove release.env`,
			`tinyforge.workloads.web.release.timeout: has no effect without release.command: set the command or remove the timeout`,
		},
	},
	{
		name:   "release timeout not a duration",
		labels: web("tinyforge.workloads.web.release.command", "migrate", "tinyforge.workloads.web.release.timeout", "soon"),
		want:   []string{`tinyforge.workloads.web.release.timeout: "soon" is not a valid duration (use 90s, 5m, 1h30m, or a number of seconds)`},
	},
	{
		name:   "release takes no value of its own",
		labels: web("tinyforge.workloads.web.release", "migrate"),
		want:   []string{`tinyforge.workloads.web.release: "release" is a group of keys and takes no value of its own: set the keys below it (release.<key>)`},
	},
	{
		name:   "unknown healthcheck kind",
		labels: web("tinyforge.workloads.web.healthcheck", "grpc check"),
		want:   []string{`tinyforge.workloads.web.healthcheck: "grpc check" is not a health check (use a URL path starting with /, http, tcp or docker)`},
	},
	{
		name:   "health path with a space",
		labels: web("tinyforge.workloads.web.healthcheck", "/health z"),
		want:   []string{`tinyforge.workloads.web.healthcheck: "/health z" must be a URL path starting with / and without spaces, e.g. /healthz`},
	},
	{
		name: "bad health option values",
		labels: web("tinyforge.workloads.web.healthcheck", "http",
			"tinyforge.workloads.web.healthInterval", "10ms",
			"tinyforge.workloads.web.healthStartPeriod", "-1s",
			"tinyforge.workloads.web.healthStatus", "200-299,,304",
			"tinyforge.workloads.web.healthHost", "app example",
			"tinyforge.workloads.web.healthPort", "70000"),
		want: []string{
			`tinyforge.workloads.web.healthHost: "app example" is not a host name, optionally with a port (app.example.com, app.example.com:8443)`,
			`tinyforge.workloads.web.healthInterval: 10ms is below the minimum of 100ms`,
			`tinyforge.workloads.web.healthPort: 70000 is out of range (1-65535; unset means the workload port)`,
			`tinyforge.workloads.web.healthStartPeriod: -1s is negative`,
			`tinyforge.workloads.web.healthStatus: "200-299,,304" has an empty item: write codes and ranges separated by single commas, e.g. 200-299,304`,
		},
	},
	{
		name: "health status codes",
		labels: web("tinyforge.workloads.web.healthcheck", "/up", "tinyforge.workloads.web.healthStatus", "299-200",
			"tinyforge.workloads.web.faces.admin.subdomain", "a", "tinyforge.workloads.web.faces.admin.targetPort", "1"),
		want: []string{`tinyforge.workloads.web.healthStatus: "299-200": the range "299-200" runs backwards: write the lower code first`},
	},
	{
		name:   "health status out of range",
		labels: web("tinyforge.workloads.web.healthcheck", "/up", "tinyforge.workloads.web.healthStatus", "2xx"),
		want:   []string{`tinyforge.workloads.web.healthStatus: "2xx": "2xx" is not an HTTP status code or a range of them (100-599, e.g. 200 or 200-399)`},
	},
	{
		name:   "health interval longer than the timeout",
		labels: web("tinyforge.workloads.web.healthcheck", "tcp", "tinyforge.workloads.web.healthInterval", "2m"),
		want:   []string{`tinyforge.workloads.web.healthInterval: 2m0s is longer than healthTimeout 1m0s: the check could probe only once`},
	},
	{
		name: "health options the check does not use",
		labels: web("tinyforge.workloads.web.healthcheck", "docker",
			"tinyforge.workloads.web.healthStatus", "200",
			"tinyforge.workloads.web.healthHost", "app.example.com",
			"tinyforge.workloads.web.healthPort", "8081"),
		want: []string{
			`tinyforge.workloads.web.healthHost: applies only to an HTTP healthcheck (a path or http), not to healthcheck docker`,
			`tinyforge.workloads.web.healthPort: applies only to an HTTP or TCP healthcheck, not to healthcheck docker`,
			`tinyforge.workloads.web.healthStatus: applies only to an HTTP healthcheck (a path or http), not to healthcheck docker`,
		},
	},
	{
		name: "health options without a healthcheck",
		labels: web("tinyforge.workloads.web.healthInterval", "1s", "tinyforge.workloads.web.healthStartPeriod", "1m",
			"tinyforge.workloads.web.healthStatus", "200"),
		want: []string{
			`tinyforge.workloads.web.healthInterval: has no effect without a healthcheck: set healthcheck or remove healthInterval`,
			`tinyforge.workloads.web.healthStartPeriod: has no effect without a healthcheck: set healthcheck or remove healthStartPeriod`,
			`tinyforge.workloads.web.healthStatus: applies only to an HTTP healthcheck (a path or http), not to a workload without one`,
		},
	},
	{
		name:   "tcp health without any port",
		labels: web("tinyforge.workloads.web.port", "", "tinyforge.workloads.web.faces.public.subdomain", "", "tinyforge.workloads.web.healthcheck", "tcp"),
		want:   []string{`tinyforge.workloads.web.port: missing: the container port is required when the workload has an enabled face, or an HTTP or TCP healthcheck without healthPort`},
	},
	{
		name:   "unknown policy",
		labels: web("tinyforge.workloads.web.policy", "newest"),
		want:   []string{`tinyforge.workloads.web.policy: "newest" is not a policy: use one of all, semver, semver-minor, semver-patch, or a semver range such as ">=1.4 <2" (as a range: improper constraint: "newest")`},
	},
	{
		name:   "policy keyword in capitals",
		labels: web("tinyforge.workloads.web.policy", "SemVer"),
		want:   []string{`tinyforge.workloads.web.policy: "SemVer" is not a policy: write it in lowercase, "semver"`},
	},
	{
		name:   "prerelease with policy all",
		labels: web("tinyforge.workloads.web.prerelease", "true"),
		want:   []string{`tinyforge.workloads.web.prerelease: has no effect with policy all, which deploys every tag: remove prerelease or set a semver policy`},
	},
	{
		name:   "defaultTag refused by the policy",
		labels: web("tinyforge.workloads.web.policy", "semver", "tinyforge.workloads.web.defaultTag", "stable"),
		want:   []string{`tinyforge.workloads.web.defaultTag: "stable" is not allowed by policy semver, so it could never deploy: tag stable is not a semver version (MAJOR.MINOR.PATCH, optionally v-prefixed), and policy semver deploys only versions`},
	},
	{
		name:   "defaultTag outside the range",
		labels: web("tinyforge.workloads.web.policy", ">=1.4 <2", "tinyforge.workloads.web.defaultTag", "v2.0.0"),
		want:   []string{`tinyforge.workloads.web.defaultTag: "v2.0.0" is not allowed by policy >=1.4 <2, so it could never deploy: tag v2.0.0 is outside the range >=1.4 <2`},
	},
	{
		name: "approval and poll problems",
		labels: web("tinyforge.workloads.web.approval", "Manual",
			"tinyforge.workloads.web.approvalTimeout", "1h",
			"tinyforge.workloads.web.poll", "10s"),
		want: []string{
			`tinyforge.workloads.web.approval: "Manual" is not an approval mode: use auto (deploy at once) or manual (wait for approve)`,
			`tinyforge.workloads.web.approvalTimeout: has no effect without approval manual: set approval or remove approvalTimeout`,
			`tinyforge.workloads.web.poll: 10s is more often than the minimum interval of 30s: registries rate-limit, and webhooks are the fast path`,
		},
	},
	{
		name:   "negative approvalTimeout and poll",
		labels: web("tinyforge.workloads.web.approval", "manual", "tinyforge.workloads.web.approvalTimeout", "-1h", "tinyforge.workloads.web.poll", "-5m"),
		want: []string{
			`tinyforge.workloads.web.approvalTimeout: -1h0m0s is negative`,
			`tinyforge.workloads.web.poll: -5m0s is negative (unset polls never)`,
		},
	},
	{
		name:   "poll not a duration",
		labels: web("tinyforge.workloads.web.poll", "often"),
		want:   []string{`tinyforge.workloads.web.poll: "often" is not a valid duration (use 90s, 5m, 1h30m, or a number of seconds)`},
	},
	{
		name:   "prerelease not a bool",
		labels: web("tinyforge.workloads.web.prerelease", "yes"),
		want:   []string{`tinyforge.workloads.web.prerelease: "yes" is not a valid bool (use true or false)`},
	},
}

func TestHealthAccessors(t *testing.T) {
	for _, tc := range []struct {
		w      Workload
		kind   HealthKind
		path   string
		port   int
		every  time.Duration
		passes []int
		fails  []int
	}{
		{w: Workload{}, kind: HealthNone, every: DefaultHealthInterval},
		{w: Workload{Healthcheck: "/up", Port: 80}, kind: HealthHTTP, path: "/up", port: 80, every: DefaultHealthInterval,
			passes: []int{200, 204, 299}, fails: []int{199, 301, 404, 500}},
		{w: Workload{Healthcheck: "http", Port: 80, HealthPort: 81, HealthStatus: "200-399, 401", HealthInterval: dur(time.Second)},
			kind: HealthHTTP, path: "/", port: 81, every: time.Second, passes: []int{200, 302, 399, 401}, fails: []int{400, 403, 500}},
		{w: Workload{Healthcheck: "http", HealthStatus: "200,204"}, kind: HealthHTTP, path: "/", passes: []int{200, 204}, fails: []int{201, 299}},
		{w: Workload{Healthcheck: "tcp", Port: 5432}, kind: HealthTCP, port: 5432, every: DefaultHealthInterval},
		{w: Workload{Healthcheck: "docker"}, kind: HealthDocker},
		// An invalid healthStatus passes nothing.
		{w: Workload{Healthcheck: "/", HealthStatus: "2xx"}, kind: HealthHTTP, path: "/", fails: []int{200}},
	} {
		w := tc.w
		if w.HealthKind() != tc.kind || w.HealthPath() != tc.path || w.ProbePort() != tc.port {
			t.Errorf("%+v: kind %q path %q port %d", w, w.HealthKind(), w.HealthPath(), w.ProbePort())
		}
		if tc.every != 0 && w.ProbeInterval() != tc.every {
			t.Errorf("%+v: interval %s, want %s", w, w.ProbeInterval(), tc.every)
		}
		for _, code := range tc.passes {
			if !w.HealthyStatus(code) {
				t.Errorf("%+v: %d should pass", w, code)
			}
		}
		for _, code := range tc.fails {
			if w.HealthyStatus(code) {
				t.Errorf("%+v: %d should fail", w, code)
			}
		}
	}
	if w := (Workload{HealthStartPeriod: dur(time.Minute)}); w.StartPeriod() != time.Minute {
		t.Errorf("StartPeriod %s", w.StartPeriod())
	}
}

func TestReleaseAccessors(t *testing.T) {
	w := Workload{Env: map[string]string{"A": "1", "B": "2"}}
	if w.HasRelease() || w.ReleaseWait() != DefaultReleaseTimeout {
		t.Fatalf("no release: HasRelease %v, wait %s", w.HasRelease(), w.ReleaseWait())
	}
	w.Release = Release{Command: "migrate", Timeout: dur(time.Minute), Env: map[string]string{"B": "3", "C": "4"}}
	env := w.ReleaseEnv()
	if !w.HasRelease() || w.ReleaseWait() != time.Minute || !reflect.DeepEqual(env, map[string]string{"A": "1", "B": "3", "C": "4"}) {
		t.Fatalf("release: HasRelease %v, wait %s, env %v", w.HasRelease(), w.ReleaseWait(), env)
	}
	if w.Env["B"] != "2" || len(w.Env) != 2 {
		t.Fatalf("ReleaseEnv changed the workload's env: %v", w.Env)
	}
	if env := (&Workload{}).ReleaseEnv(); env == nil || len(env) != 0 {
		t.Fatalf("empty ReleaseEnv = %#v", env)
	}
}

func TestAllowsPushAndNewestTag(t *testing.T) {
	w := Workload{Tags: "v*", Policy: "semver-minor"}
	for _, tc := range []struct {
		serving, tag string
		reason       string
	}{
		{"v1.2.0", "v1.3.0", ""},
		{"v1.2.0", "1.3.0", `tag 1.3.0 is not allowed by tags "v*"`},
		{"v1.2.0", "v2.0.0", "tag v2.0.0 changes the major version of the serving v1.2.0 (policy semver-minor stays within major 1)"},
		{"v1.2.0", "v1.1.0", "tag v1.1.0 is older than the serving v1.2.0 (policy semver-minor deploys only newer versions)"},
		{"", "vnext", "tag vnext is not a semver version (MAJOR.MINOR.PATCH, optionally v-prefixed), and policy semver-minor deploys only versions"},
	} {
		ok, reason := w.AllowsPush(tc.serving, tc.tag)
		if ok != (tc.reason == "") || reason != tc.reason {
			t.Errorf("AllowsPush(%q, %q) = %v, %q; want %q", tc.serving, tc.tag, ok, reason, tc.reason)
		}
	}
	tags := []string{"v1.2.0", "v1.9.0", "1.10.0", "v2.0.0", "v1.10.0-rc.1", "latest"}
	if got, ok := w.NewestTag("v1.2.0", tags); got != "v1.9.0" || !ok {
		t.Errorf("NewestTag = %q, %v; want v1.9.0 (1.10.0 fails tags, v2 the policy, the rc is a pre-release)", got, ok)
	}
	if got, ok := w.NewestTag("v1.9.0", tags); ok {
		t.Errorf("NewestTag from the newest = %q, want none", got)
	}
	if got, ok := (&Workload{}).NewestTag("", tags); ok {
		t.Errorf("NewestTag under policy all = %q, want none", got)
	}
	bad := Workload{Policy: "newest"}
	if ok, reason := bad.AllowsPush("", "v1.0.0"); ok || reason == "" {
		t.Errorf("an invalid policy allowed a push: %v %q", ok, reason)
	}
	if ok, _ := (&Workload{}).AllowsPush("v2.0.0", "v1.0.0"); !ok {
		t.Error("policy all refused an older tag")
	}
}

func TestDeliveryAccessors(t *testing.T) {
	w := Workload{Approval: ApprovalManual, ApprovalTimeout: dur(time.Hour), Poll: dur(time.Minute)}
	if !w.ManualApproval() || w.ApprovalExpiry() != time.Hour || w.PollEvery() != time.Minute {
		t.Fatalf("manual %v expiry %s poll %s", w.ManualApproval(), w.ApprovalExpiry(), w.PollEvery())
	}
	var zero Workload
	if zero.ManualApproval() || zero.ApprovalExpiry() != 0 || zero.PollEvery() != 0 {
		t.Fatal("the zero workload must deploy at once and never poll")
	}
}
