package metrics

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

var sources = []string{"distribution", "github", "api"}

// exercised is a Metrics on which every method has been called once, so
// every metric has series in the output.
func exercised(t *testing.T) *Metrics {
	t.Helper()
	m := New(Options{Version: "1.2.3", Commit: "abc1234", Sources: sources})
	m.DeployFinished("shop", DeploySucceeded, []Phase{{PhasePull, 2 * time.Second}, {PhaseCreate, 300 * time.Millisecond},
		{PhaseHealth, time.Second}, {PhaseSwitch, 20 * time.Millisecond}, {PhaseWatch, 10 * time.Second}, {PhaseDrain, 2 * time.Second}},
		4*time.Second)
	m.DeployFinished("shop", DeployRolledBack, []Phase{{PhasePull, time.Second}, {PhaseWatch, 3 * time.Second}}, 0)
	m.DeployFinished("blog", DeployFailed, []Phase{{PhasePull, 500 * time.Millisecond}}, 0)
	m.DeployFinished("blog", DeploySkipped, nil, 0)
	m.WebhookDelivery("github", DeliveryAccepted)
	m.WebhookDelivery("github", DeliveryDuplicate)
	m.WebhookDelivery("distribution", DeliveryUnauthorized)
	m.InboxPending(3)
	m.ReconcilePass(12 * time.Millisecond)
	m.DockerEventsReconnect()
	m.Workloads(map[string]int{WorkloadDeclared: 2, WorkloadOrphaned: 1})
	m.Instances("shop", map[string]int{"running": 2, "exited": 1})
	m.NotificationSent("ops", NotificationSent)
	m.NotificationSent("ops", NotificationFailed)
	return m
}

func scrape(t *testing.T, h http.Handler, token string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// lookPromtool finds promtool, or stops the test (failing under CI=true).
func lookPromtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		testsvc.Unavailable(t, "promtool not installed (Debian package prometheus: scripts/install-deps.sh installs it)")
	}
	return path
}

// TestPromtoolChecksTheOutput lints the handler's output with Prometheus'
// own promtool: names, units, help texts, counter suffixes.
func TestPromtoolChecksTheOutput(t *testing.T) {
	promtool := lookPromtool(t)
	code, body := scrape(t, exercised(t).Handler(""), "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, name := range []string{nameDeploys, nameDeployPhase, nameDeploy, nameWebhookDeliveries, nameInboxPending,
		nameReconcile, nameEventsReconnects, nameWorkloads, nameInstances, nameNotifications, nameBuildInfo} {
		if !strings.Contains(body, "\n# TYPE "+name+" ") {
			t.Errorf("output has no %s", name)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s\noutput checked:\n%s", err, out, body)
	}
}

// TestPromtoolCatchesABadMetric proves the check above can fail: a counter
// without _total is reported.
func TestPromtoolCatchesABadMetric(t *testing.T) {
	promtool := lookPromtool(t)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader("# HELP tinyforge_bad Bad.\n# TYPE tinyforge_bad counter\ntinyforge_bad 1\n")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "_total") {
		t.Fatalf("promtool accepted a counter without _total: %v %s", err, out)
	}
}

func TestValues(t *testing.T) {
	m := exercised(t)
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"deploys shop succeeded", testutil.ToFloat64(m.deploys.WithLabelValues("shop", DeploySucceeded)), 1},
		{"deploys shop rolled_back", testutil.ToFloat64(m.deploys.WithLabelValues("shop", DeployRolledBack)), 1},
		{"deploys shop failed (pre-created)", testutil.ToFloat64(m.deploys.WithLabelValues("shop", DeployFailed)), 0},
		{"deploys blog failed", testutil.ToFloat64(m.deploys.WithLabelValues("blog", DeployFailed)), 1},
		{"deploys blog skipped", testutil.ToFloat64(m.deploys.WithLabelValues("blog", DeploySkipped)), 1},
		{"github accepted", testutil.ToFloat64(m.deliveries[[2]string{"github", DeliveryAccepted}]), 1},
		{"github duplicate", testutil.ToFloat64(m.deliveries[[2]string{"github", DeliveryDuplicate}]), 1},
		{"distribution unauthorized", testutil.ToFloat64(m.deliveries[[2]string{"distribution", DeliveryUnauthorized}]), 1},
		{"inbox", testutil.ToFloat64(m.inboxPending), 3},
		{"reconnects", testutil.ToFloat64(m.reconnects), 1},
		{"workloads declared", testutil.ToFloat64(m.workloads.WithLabelValues(WorkloadDeclared)), 2},
		{"workloads orphaned", testutil.ToFloat64(m.workloads.WithLabelValues(WorkloadOrphaned)), 1},
		{"workloads conflict", testutil.ToFloat64(m.workloads.WithLabelValues(WorkloadConflict)), 0},
		{"instances shop running", testutil.ToFloat64(m.instances.WithLabelValues("shop", "running")), 2},
		{"instances shop exited", testutil.ToFloat64(m.instances.WithLabelValues("shop", "exited")), 1},
		{"notifications ops sent", testutil.ToFloat64(m.notifications.WithLabelValues("ops", NotificationSent)), 1},
		{"notifications ops failed", testutil.ToFloat64(m.notifications.WithLabelValues("ops", NotificationFailed)), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Histograms: count and sum of what was observed.
	want := `
# HELP tinyforge_deploy_seconds Time from a deploy's request to the new version serving, seconds (succeeded deploys only).
# TYPE tinyforge_deploy_seconds histogram
tinyforge_deploy_seconds_bucket{workload="shop",le="0.5"} 0
tinyforge_deploy_seconds_bucket{workload="shop",le="1"} 0
tinyforge_deploy_seconds_bucket{workload="shop",le="2.5"} 0
tinyforge_deploy_seconds_bucket{workload="shop",le="5"} 1
tinyforge_deploy_seconds_bucket{workload="shop",le="10"} 1
tinyforge_deploy_seconds_bucket{workload="shop",le="20"} 1
tinyforge_deploy_seconds_bucket{workload="shop",le="30"} 1
tinyforge_deploy_seconds_bucket{workload="shop",le="60"} 1
tinyforge_deploy_seconds_bucket{workload="shop",le="120"} 1
tinyforge_deploy_seconds_bucket{workload="shop",le="300"} 1
tinyforge_deploy_seconds_bucket{workload="shop",le="600"} 1
tinyforge_deploy_seconds_bucket{workload="shop",le="+Inf"} 1
tinyforge_deploy_seconds_sum{workload="shop"} 4
tinyforge_deploy_seconds_count{workload="shop"} 1
tinyforge_deploy_seconds_bucket{workload="blog",le="0.5"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="1"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="2.5"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="5"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="10"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="20"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="30"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="60"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="120"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="300"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="600"} 0
tinyforge_deploy_seconds_bucket{workload="blog",le="+Inf"} 0
tinyforge_deploy_seconds_sum{workload="blog"} 0
tinyforge_deploy_seconds_count{workload="blog"} 0
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), nameDeploy); err != nil {
		t.Error(err)
	}
	// shop's pull phase: 2s then 1s; its watch: 10s then 3s.
	if got := histogram(t, m, nameDeployPhase, `phase="pull",workload="shop"`); got != "count=2 sum=3" {
		t.Errorf("shop pull phase = %s, want count=2 sum=3", got)
	}
	if got := histogram(t, m, nameDeployPhase, `phase="watch",workload="shop"`); got != "count=2 sum=13" {
		t.Errorf("shop watch phase = %s, want count=2 sum=13", got)
	}
	if got := histogram(t, m, nameReconcile, ``); got != "count=1 sum=0.012" {
		t.Errorf("reconcile = %s", got)
	}
}

// histogram returns "count=N sum=S" of one series from the text output.
func histogram(t *testing.T, m *Metrics, name, labels string) string {
	t.Helper()
	_, body := scrape(t, m.Handler(""), "")
	var count, sum string
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+"_count{"+labels+"} "); ok || (labels == "" && strings.HasPrefix(line, name+"_count ")) {
			count = strings.TrimPrefix(v, name+"_count ")
		}
		if v, ok := strings.CutPrefix(line, name+"_sum{"+labels+"} "); ok || (labels == "" && strings.HasPrefix(line, name+"_sum ")) {
			sum = strings.TrimPrefix(v, name+"_sum ")
		}
	}
	return "count=" + count + " sum=" + sum
}

func TestBoundedLabels(t *testing.T) {
	m := New(Options{Sources: sources})
	before := testutil.CollectAndCount(m.reg)
	m.WebhookDelivery("/etc/passwd", DeliveryAccepted)          // unknown source
	m.WebhookDelivery("github", "teapot")                       // unknown outcome
	m.WebhookDelivery("nope", "nope")                           // both
	m.Workloads(map[string]int{"weird": 4, WorkloadInvalid: 1}) // unknown state
	m.NotificationSent("ops", "exploded")
	if got := testutil.ToFloat64(m.deliveries[[2]string{Other, DeliveryAccepted}]); got != 1 {
		t.Errorf("unknown source counted as other/accepted %v times, want 1", got)
	}
	if got := testutil.ToFloat64(m.deliveries[[2]string{"github", Other}]); got != 1 {
		t.Errorf("unknown outcome counted as github/other %v times, want 1", got)
	}
	if got := testutil.ToFloat64(m.deliveries[[2]string{Other, Other}]); got != 1 {
		t.Errorf("unknown source+outcome counted as other/other %v times, want 1", got)
	}
	if got := testutil.ToFloat64(m.workloads.WithLabelValues(Other)); got != 4 {
		t.Errorf("workloads{state=other} = %v, want 4", got)
	}
	// Only the notification series is new: the deliveries and workloads
	// series all existed from New on.
	if after := testutil.CollectAndCount(m.reg); after != before+1 {
		t.Errorf("series before %d, after %d: want exactly one new (notifications ops/other)", before, after)
	}
	m.DeployFinished("shop", "exploded", []Phase{{"teleport", time.Second}}, time.Second)
	if got := testutil.ToFloat64(m.deploys.WithLabelValues("shop", Other)); got != 1 {
		t.Errorf("unknown deploy outcome counted as other %v times, want 1", got)
	}
	if got := histogram(t, m, nameDeployPhase, `phase="other",workload="shop"`); got != "count=1 sum=1" {
		t.Errorf("unknown phase = %s, want count=1 sum=1", got)
	}
	if got := histogram(t, m, nameDeploy, `workload="shop"`); got != "count=0 sum=0" {
		t.Errorf("a deploy that did not succeed was timed to serve: %s", got)
	}
}

func TestForgetWorkload(t *testing.T) {
	m := exercised(t)
	m.ForgetWorkload("shop")
	_, body := scrape(t, m.Handler(""), "")
	if strings.Contains(body, `workload="shop"`) {
		t.Errorf("shop still in the output after ForgetWorkload:\n%s", body)
	}
	if !strings.Contains(body, `tinyforge_deploys_total{outcome="failed",workload="blog"} 1`) {
		t.Errorf("blog's series went too:\n%s", body)
	}
	m.DeployFinished("shop", DeploySucceeded, nil, time.Second) // comes back, from zero
	if got := testutil.ToFloat64(m.deploys.WithLabelValues("shop", DeploySucceeded)); got != 1 {
		t.Errorf("shop succeeded after forget and one deploy = %v, want 1", got)
	}
}

func TestBuildInfo(t *testing.T) {
	_, body := scrape(t, New(Options{Version: "1.2.3", Commit: "abc1234"}).Handler(""), "")
	if !strings.Contains(body, `tinyforge_build_info{commit="abc1234",version="1.2.3"} 1`) {
		t.Errorf("no build info in:\n%s", body)
	}
	_, body = scrape(t, New(Options{}).Handler(""), "")
	if !strings.Contains(body, `tinyforge_build_info{commit="unknown",version="unknown"} 1`) {
		t.Errorf("no build info without version in:\n%s", body)
	}
}

func TestRuntimeCollectors(t *testing.T) {
	_, body := scrape(t, New(Options{Runtime: true}).Handler(""), "")
	if !strings.Contains(body, "process_cpu_seconds_total") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("Runtime: true has no process/go metrics")
	}
	_, body = scrape(t, New(Options{}).Handler(""), "")
	if strings.Contains(body, "go_goroutines") {
		t.Errorf("Runtime: false has go metrics")
	}
}

func TestHandlerToken(t *testing.T) {
	srv := httptest.NewServer(exercised(t).Handler("s3cret"))
	defer srv.Close()
	for _, c := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Bearer s3cret-and-more", http.StatusUnauthorized},
		{"Basic s3cret", http.StatusUnauthorized},
		{"s3cret", http.StatusUnauthorized},
		{"Bearer s3cret", http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("Authorization %q: %d, want %d", c.auth, res.StatusCode, c.want)
		}
		if c.want == http.StatusOK && !strings.Contains(string(body), nameDeploys) {
			t.Errorf("authorized scrape has no metrics")
		}
		if c.want != http.StatusOK && (strings.Contains(string(body), nameDeploys) || res.Header.Get("WWW-Authenticate") == "") {
			t.Errorf("Authorization %q: leaked metrics or no WWW-Authenticate", c.auth)
		}
	}
}

func TestNilMetricsIsOff(t *testing.T) {
	var m *Metrics
	m.DeployFinished("shop", DeploySucceeded, []Phase{{PhasePull, time.Second}}, time.Second)
	m.WebhookDelivery("github", DeliveryAccepted)
	m.InboxPending(1)
	m.ReconcilePass(time.Second)
	m.DockerEventsReconnect()
	m.Workloads(nil)
	m.Instances("shop", nil)
	m.NotificationSent("ops", NotificationSent)
	m.ForgetWorkload("shop")
}

// On a swarm an instance is a service (running, starting, exited) and
// tinyforge_tasks counts its tasks by task state, bounded like every
// other label; the output still passes promtool. Without Options.Swarm
// there is no tinyforge_tasks at all.
func TestSwarmInstancesAndTasks(t *testing.T) {
	promtool := lookPromtool(t)
	m := New(Options{Sources: sources, Swarm: true})
	m.Instances("web", map[string]int{"running": 1, "starting": 1})
	m.Tasks("web", map[string]int{"running": 3, "preparing": 1, "teleporting": 2})
	checks := []struct {
		name      string
		got, want float64
	}{
		{"instances web running", testutil.ToFloat64(m.instances.WithLabelValues("web", "running")), 1},
		{"instances web starting", testutil.ToFloat64(m.instances.WithLabelValues("web", "starting")), 1},
		{"instances web other", testutil.ToFloat64(m.instances.WithLabelValues("web", Other)), 0},
		{"tasks web running", testutil.ToFloat64(m.tasks.WithLabelValues("web", "running")), 3},
		{"tasks web preparing", testutil.ToFloat64(m.tasks.WithLabelValues("web", "preparing")), 1},
		{"tasks web failed", testutil.ToFloat64(m.tasks.WithLabelValues("web", "failed")), 0},
		{"tasks web other", testutil.ToFloat64(m.tasks.WithLabelValues("web", Other)), 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	_, body := scrape(t, m.Handler(""), "")
	if n := strings.Count(body, "\n"+nameTasks+"{"); n != len(taskStates) {
		t.Errorf("%d tinyforge_tasks series for one workload, want %d (one per state)", n, len(taskStates))
	}
	if strings.Contains(body, `state="restarting"`) {
		t.Errorf("container states in the output on a swarm:\n%s", body)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s\noutput checked:\n%s", err, out, body)
	}
	m.ForgetWorkload("web")
	if _, body := scrape(t, m.Handler(""), ""); strings.Contains(body, `workload="web"`) {
		t.Errorf("web still in the output after ForgetWorkload:\n%s", body)
	}

	one := New(Options{Sources: sources})
	one.Tasks("web", map[string]int{"running": 1})
	if _, body := scrape(t, one.Handler(""), ""); strings.Contains(body, nameTasks) {
		t.Errorf("tinyforge_tasks without --engine swarm:\n%s", body)
	}
}
