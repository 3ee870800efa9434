package swarm

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
)

// statusBody is the part of GET /v1/workloads these tests read.
type statusBody struct {
	Workloads map[string]*struct {
		Instances []deployer.Instance `json:"instances"`
		Tasks     map[string][]struct {
			ID, Node, State, Address string
		} `json:"tasks"`
		Routes  []deployer.Route `json:"routes"`
		History []deployer.Event `json:"history"`
	} `json:"workloads"`
}

// TestSwarmBlueGreen is the blue-green of one host on a swarm: pushes go
// to a registry that notifies the sidecar; each version is a service of
// two tasks, each health-checked over the overlay before the Caddy edge
// switches to the service's name; v2 replaces v1 with no failed request
// at 100 req/s; an unhealthy v3 leaves v2 serving and no v3 service.
func TestSwarmBlueGreen(t *testing.T) {
	w := newWorld(t, nil)

	pushed := w.push("v1")
	served := w.waitServed("v1", 2*time.Minute)
	t.Logf("MEASURED: v1 push to served on the swarm (2 replicas): %s", served.Sub(pushed).Round(time.Millisecond))
	w.checkState("v1")
	w.checkRecordAndMetrics("v1")

	l := startLoad(w, 100)
	pushed = w.push("v2")
	served = w.waitServed("v2", 2*time.Minute)
	t.Logf("MEASURED: v2 push to served under load: %s", served.Sub(pushed).Round(time.Millisecond))
	w.eventually(time.Minute, "the v1 service removed", func() bool { return len(w.services()) == 1 })
	time.Sleep(time.Second) // a moment of load after the removal too
	sent, failed, took := l.stop()
	rate := float64(sent) / took.Seconds()
	t.Logf("MEASURED: load through the edge during v1 -> v2: %d requests in %s (%.0f req/s), %d failed", sent, took.Round(time.Millisecond), rate, len(failed))
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed during the switch; first: %v", len(failed), sent, failed[:min(5, len(failed))])
	}
	if rate < 80 {
		t.Errorf("load ran at %.0f req/s, want about 100", rate)
	}
	w.checkState("v2")
	w.checkRecordAndMetrics("v2")

	t.Run("unhealthy v3 leaves v2 serving", func(t *testing.T) {
		w.push("v3", "HEALTH=fail")
		ref := w.repo + ":v3"
		var outcome string
		var tasks []deployer.TaskAt
		w.eventually(time.Minute, "failed deploy of v3 recorded", func() bool {
			var st statusBody
			if w.getJSON("/v1/workloads", &st) != nil || st.Workloads["web"] == nil {
				return false
			}
			for _, ev := range st.Workloads["web"].History {
				if ev.Image == ref && strings.HasPrefix(ev.Outcome, deployer.OutcomeFailed) {
					outcome, tasks = ev.Outcome, ev.Tasks
					return true
				}
			}
			return false
		})
		t.Logf("v3: %s (%s)", outcome, deployer.SummarizeTasks(tasks))
		if len(tasks) != 2 {
			t.Errorf("the failed record names tasks %v, want the 2 tasks of v3 as they were when it failed", tasks)
		}
		if !strings.Contains(outcome, "health check") {
			t.Errorf("v3 failed for another reason than its health check: %s", outcome)
		}
		if code, body, err := w.get(http.DefaultClient, "/"); err != nil || code != 200 || body != "v2" {
			t.Fatalf("after the failed v3: %d %q %v, want v2 served", code, body, err)
		}
		for _, s := range w.services() {
			if s.Spec.Labels[labels.ManagedTag] != "v2" {
				t.Errorf("service %s (tag %s) left after the failed deploy", s.Spec.Name, s.Spec.Labels[labels.ManagedTag])
			}
		}
		w.checkState("v2")
	})
}

// checkState compares `docker service ls/ps` with GET /v1/workloads: one
// service of the workload, of tag, with 2 running tasks, which is the one
// instance the sidecar reports and the one its route points at.
func (w *world) checkState(tag string) {
	w.t.Helper()
	svcs := w.services()
	if len(svcs) != 1 {
		names := []string{}
		for _, s := range svcs {
			names = append(names, s.Spec.Name)
		}
		w.t.Fatalf("services of web: %v, want one (%s)", names, tag)
	}
	svc := svcs[0]
	if got := svc.Spec.Labels[labels.ManagedTag]; got != tag {
		w.t.Errorf("service %s runs tag %s, want %s", svc.Spec.Name, got, tag)
	}
	if r := svc.Spec.Mode.Replicated; r == nil || r.Replicas == nil || *r.Replicas != 2 {
		w.t.Errorf("service %s: replicas %+v, want 2", svc.Spec.Name, svc.Spec.Mode)
	}
	running := 0
	want := map[string]string{} // task id -> node/state, as docker service ps says
	for _, task := range w.tasks(svc.ID) {
		if task.Status.State == "running" {
			running++
		}
		want[task.ID] = task.NodeID + "/" + string(task.Status.State)
	}
	if running != 2 {
		w.t.Errorf("service %s: %d tasks running, want 2", svc.Spec.Name, running)
	}
	var st statusBody
	if err := w.getJSON("/v1/workloads", &st); err != nil {
		w.t.Fatal(err)
	}
	web := st.Workloads["web"]
	if web == nil {
		w.t.Fatal("GET /v1/workloads: no workload web")
	}
	var ids []string
	for _, in := range web.Instances {
		ids = append(ids, in.ID)
	}
	if !slices.Equal(ids, []string{svc.ID}) {
		w.t.Errorf("GET /v1/workloads instances %v, docker service ls %s", ids, svc.ID)
	}
	got := map[string]string{}
	for _, task := range web.Tasks[svc.ID] {
		got[task.ID] = task.Node + "/" + task.State
		if task.Address == "" {
			w.t.Errorf("GET /v1/workloads: task %s has no address on the overlay", task.ID)
		}
	}
	if !maps.Equal(got, want) {
		w.t.Errorf("GET /v1/workloads tasks %v, docker service ps %v", got, want)
	}
	for _, r := range web.Routes {
		if r.Container != svc.ID || !strings.HasPrefix(r.Upstream, svc.Spec.Name+":") {
			w.t.Errorf("route %s -> %s (%s), want the service %s by name", r.Host, r.Upstream, r.Container, svc.Spec.Name)
		}
	}
}

// checkRecordAndMetrics compares the history record of tag's deploy and
// the sidecar's metrics with `docker service ps`: the record names each
// task of the serving service (slot, node, state: running), and
// tinyforge_instances / tinyforge_tasks count one running service of two
// running tasks.
func (w *world) checkRecordAndMetrics(tag string) {
	w.t.Helper()
	svcs := w.services()
	if len(svcs) != 1 {
		w.t.Fatalf("services of web: %d, want one (%s)", len(svcs), tag)
	}
	var want []string // slot/node/state, as docker service ps says
	for _, task := range w.tasks(svcs[0].ID) {
		want = append(want, fmt.Sprintf("%d/%s/%s", task.Slot, task.NodeID, task.Status.State))
	}
	slices.Sort(want)
	var rec *deployer.Event // recorded after the watch, which follows the switch
	w.eventually(30*time.Second, "the deployed record of "+tag, func() bool {
		var st statusBody
		if w.getJSON("/v1/workloads", &st) != nil || st.Workloads["web"] == nil {
			return false
		}
		for _, ev := range st.Workloads["web"].History { // newest first
			if ev.Tag == tag && ev.Outcome == deployer.OutcomeDeployed {
				rec = &ev
				return true
			}
		}
		return false
	})
	var got []string
	for _, task := range rec.Tasks {
		got = append(got, fmt.Sprintf("%d/%s/%s", task.Slot, task.Node, task.State))
		if task.NodeName == "" {
			w.t.Errorf("record of %s: task %d without its node's hostname", tag, task.Slot)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		w.t.Errorf("record of %s: tasks %v, docker service ps %v", tag, got, want)
	}
	w.t.Logf("record of %s: %s", tag, rec.TaskSummary())

	series := []string{
		`tinyforge_instances{state="running",workload="web"} 1`,
		`tinyforge_instances{state="starting",workload="web"} 0`,
		fmt.Sprintf(`tinyforge_tasks{state="running",workload="web"} %d`, len(want)),
		`tinyforge_tasks{state="preparing",workload="web"} 0`,
	}
	var missing []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		missing = missing[:0]
		resp, err := httpClient().Get(w.api("/metrics"))
		if err != nil {
			missing = append(missing, err.Error())
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, s := range series {
				if !strings.Contains(string(b), "\n"+s+"\n") {
					missing = append(missing, s)
				}
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("metrics after 30 s lack %v", missing)
		}
	}
}

// load sends rate requests a second through the edge, each on its own
// goroutine (open loop: a slow answer does not slow the rate), and keeps
// every failure.
type load struct {
	stopped chan struct{}
	wg      sync.WaitGroup
	sent    atomic.Int64
	mu      sync.Mutex
	failed  []string
	start   time.Time
}

func startLoad(w *world, rate int) *load {
	l := &load{stopped: make(chan struct{}), start: time.Now()}
	c := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer tick.Stop()
		for {
			select {
			case <-l.stopped:
				return
			case <-tick.C:
			}
			// A ticker drops ticks on a busy machine: send what is due.
			due := int64(time.Since(l.start) * time.Duration(rate) / time.Second)
			for ; l.sent.Load() < due; l.sent.Add(1) {
				l.wg.Add(1)
				go l.one(w, c)
			}
		}
	}()
	return l
}

// one sends one request and keeps its failure.
func (l *load) one(w *world, c *http.Client) {
	defer l.wg.Done()
	code, body, err := w.get(c, "/")
	if err != nil || code != http.StatusOK || len(body) < 2 || body[0] != 'v' {
		l.mu.Lock()
		l.failed = append(l.failed, time.Now().Format("15:04:05.000")+" "+describe(code, body, err))
		l.mu.Unlock()
	}
}

func (l *load) stop() (int64, []string, time.Duration) {
	close(l.stopped)
	took := time.Since(l.start)
	l.wg.Wait()
	return l.sent.Load(), l.failed, took
}

func describe(code int, body string, err error) string {
	if err != nil {
		return err.Error()
	}
	return http.StatusText(code) + " " + body[:min(80, len(body))]
}

func httpClient() *http.Client { return &http.Client{Timeout: 5 * time.Second} }
