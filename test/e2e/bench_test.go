package e2e

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestBenchDeploy is `make bench-deploy`: in one invocation, the same
// FROM-scratch app image through
//
//   - raw `docker run` to its first 200 (the floor);
//   - tinyforge (sidecar defaults: 10 s watch, 2 s drain), push to served
//     through Caddy: 1 push, then 5 pushes each sent the moment the
//     previous version is served, then 5 pushes 1 s apart, under a steady
//     100 requests a second through Caddy;
//   - the stop-then-start update (watchtower, compose --force-recreate)
//     under the same load;
//
// repeated TINYFORGE_BENCH_RUNS times (5), with the per-phase breakdown of
// the deploys (from their history), the sidecar's CPU per deploy and its
// idle RSS (from /proc). A push is timed from the moment its registry
// notification is sent to the sidecar; the registry's own notifications
// are held back, so every push is sent, and timed, by the benchmark.
// It prints the medians, maxima and ratios to the floor. It is opt-in
// (TINYFORGE_BENCH=1) and never asserts a timing.
func TestBenchDeploy(t *testing.T) {
	if os.Getenv("TINYFORGE_BENCH") != "1" {
		t.Skip("a benchmark: run it with make bench-deploy (TINYFORGE_BENCH=1)")
	}
	runs := 5
	if n, err := strconv.Atoi(os.Getenv("TINYFORGE_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	s := newStackServices(t, testsvc.Redis(t).URL)
	s.hooks.mu.Lock()
	s.hooks.hold = true
	s.hooks.mu.Unlock()
	p := s.launch(procOpts{args: []string{"--watch", "10s", "--drain", "2s", "--lock-ttl", "15s",
		"--reconcile-interval", "5s", "--log-level", "info"}})
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })

	b := &bench{s: s, p: p}
	for i := range 11 {
		tag := fmt.Sprintf("v%02d", i+1)
		b.tags = append(b.tags, tag)
		b.digests = append(b.digests, s.pushDigest(tag))
	}
	// Warm-up, not timed: Caddy's server exists and the last version
	// serves, so every timed push is a blue-green one.
	last := len(b.tags) - 1
	if code := s.notify(p.url, b.tags[last], b.digests[last]); code != http.StatusAccepted {
		t.Fatalf("warm-up notification answered %d", code)
	}
	s.waitServed(b.tags[last], 60*time.Second)
	eventually(t, 60*time.Second, "warm-up settled", func() bool { return len(s.workloadContainers(true)) == 1 })
	for r := range runs {
		b.run(r)
	}
	b.report(runs)
}

// bench holds the figures of every run.
type bench struct {
	s       *stack
	p       *sidecarProc
	tags    []string // versions pushed in each run, in order
	digests []string
	ss      *stopStart

	floors, loadedFloors     stats
	first, backToBack, apart stats
	stopStarts               stats
	cpuPerDeploy             stats
	rss                      []int64
	sent, failed             int64 // tinyforge, under load
	ssSent, ssFailed         int64 // stop-then-start, under load
	phases                   map[string]stats
}

// push is one timed push of a run.
type push struct {
	tag, digest    string
	sent, accepted time.Time
	served         time.Time
	index          int
}

func (b *bench) run(r int) {
	s, t := b.s, b.s.t
	b.floors = append(b.floors, s.floor(s.repo+":"+b.tags[0], r))

	pid := b.p.pid()
	cpu0, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	obs := startObserver(s)
	load := startSteady(s, s.host, 100)
	// The floor again, under the load the pushes see.
	b.loadedFloors = append(b.loadedFloors, s.floor(s.repo+":"+b.tags[0], 100+r))
	pushes := make([]*push, len(b.tags))
	send := func(i int) {
		p := &push{tag: b.tags[i], digest: b.digests[i], index: i, sent: time.Now()}
		if code := s.notify(b.p.url, p.tag, p.digest); code != http.StatusAccepted {
			t.Fatalf("notification of %s answered %d", p.tag, code)
		}
		p.accepted = time.Now()
		pushes[i] = p
	}
	// served: when push i, or a later one that coalesced it away, was
	// first served after it was sent.
	served := func(i int) (time.Time, bool) {
		best, found := time.Time{}, false
		for j := i; j < len(pushes) && pushes[j] != nil; j++ {
			if at, ok := obs.servedAfter(pushes[j].tag, pushes[j].sent); ok && (!found || at.Before(best)) {
				best, found = at, true
			}
		}
		return best, found
	}
	wait := func(i int) {
		eventually(t, 90*time.Second, b.tags[i]+" served", func() bool {
			at, ok := served(i)
			pushes[i].served = at
			return ok
		})
	}
	send(0)
	wait(0)
	for i := 1; i <= 5; i++ {
		send(i)
		wait(i)
	}
	for i := 6; i < len(b.tags); i++ {
		if i > 6 {
			time.Sleep(time.Until(pushes[i-1].sent.Add(time.Second)))
		}
		send(i)
	}
	for i := 6; i < len(b.tags); i++ {
		wait(i)
	}
	sent, failed := load.end()
	obs.end()
	b.sent, b.failed = b.sent+sent, b.failed+failed
	if failed > 0 {
		load.mu.Lock()
		t.Logf("run %d: %d of %d requests failed; first: %v", r, failed, sent, load.first)
		load.mu.Unlock()
	}
	for _, p := range pushes {
		took := p.served.Sub(p.sent)
		switch {
		case p.index == 0:
			b.first = append(b.first, took)
		case p.index <= 5:
			b.backToBack = append(b.backToBack, took)
		default:
			b.apart = append(b.apart, took)
		}
	}

	// Settled: the drains are over and one container is left.
	eventually(t, 60*time.Second, "one container left", func() bool { return len(s.workloadContainers(true)) == 1 })
	cpu1, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	b.cpuPerDeploy = append(b.cpuPerDeploy, (cpu1-cpu0)/time.Duration(len(b.tags)))
	time.Sleep(time.Second)
	if rss, err := procRSS(pid); err == nil {
		b.rss = append(b.rss, rss)
	}
	b.phasesOf(pushes)

	if b.ss == nil {
		b.ss = newStopStart(s, s.repo+":"+b.tags[0], b.tags[0])
	}
	next := b.tags[(r+1)%2]
	took, ssSent, ssFailed := b.ss.update(s.repo+":"+next, next)
	b.stopStarts = append(b.stopStarts, took)
	b.ssSent, b.ssFailed = b.ssSent+ssSent, b.ssFailed+ssFailed
	t.Logf("run %d: floor %s, first push %s, back to back %v, 1 s apart %v, stop-then-start %s (%d of %d failed), tinyforge %d of %d failed",
		r, ms(b.floors[r]), ms(b.first[r]), b.backToBack[len(b.backToBack)-5:], b.apart[len(b.apart)-5:], ms(took), ssFailed, ssSent, failed, sent)
}

// phaseNames orders the phases of the breakdown.
var phaseNames = []string{"webhook → 202", "202 → lock granted", "lock → pulled", "pulled → created", "created → started",
	"started → healthy", "healthy → switched", "switched → served", "total"}

// phasesOf adds each deploy's phases, from its history record, matched to
// the push that asked for it (a coalesced push has none).
func (b *bench) phasesOf(pushes []*push) {
	if b.phases == nil {
		b.phases = map[string]stats{}
	}
	evs := b.s.deploys(b.p.url)
	for _, p := range pushes {
		ev, ok := deployOf(evs, p)
		if !ok {
			continue
		}
		at := map[string]time.Time{}
		for _, st := range ev.Steps {
			at[st.Step] = st.At
		}
		add := func(name string, from, to time.Time) {
			if !from.IsZero() && !to.IsZero() {
				b.phases[name] = append(b.phases[name], to.Sub(from))
			}
		}
		add("webhook → 202", p.sent, p.accepted)
		add("202 → lock granted", p.accepted, ev.Started)
		add("lock → pulled", ev.Started, at[deployer.StepPulled])
		add("pulled → created", at[deployer.StepPulled], at[deployer.StepCreated])
		add("created → started", at[deployer.StepCreated], at[deployer.StepStarted])
		add("started → healthy", at[deployer.StepStarted], at[deployer.StepHealthy])
		add("healthy → switched", at[deployer.StepHealthy], at[deployer.StepSwitched])
		add("switched → served", at[deployer.StepSwitched], p.served)
		add("total", p.sent, p.served)
	}
}

// deployOf is the oldest deploy of p's digest that started after p was sent.
func deployOf(evs []deployer.Event, p *push) (deployer.Event, bool) {
	var found deployer.Event
	ok := false
	for _, ev := range evs { // newest first
		if ev.Digest == p.digest && !ev.Started.Before(p.sent) {
			found, ok = ev, true
		}
	}
	return found, ok
}

func (b *bench) report(runs int) {
	floor := b.floors.median()
	all := append(append(append(stats{}, b.first...), b.backToBack...), b.apart...)
	targetMed := time.Duration(1.2*float64(floor)) + 300*time.Millisecond
	targetMax := time.Duration(1.5*float64(floor)) + 500*time.Millisecond
	var out strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }
	w("\n## bench-deploy: %d runs, %s, %d CPUs, %s", runs, time.Now().Format("2006-01-02 15:04"), runtime.NumCPU(), cpuPressure())
	w("| what | n | median | max | median / floor | max / floor |")
	w("|---|---|---|---|---|---|")
	row := func(name string, st stats) {
		w("| %s | %d | %s | %s | %.2f | %.2f |", name, len(st), ms(st.median()), ms(st.max()),
			float64(st.median())/float64(floor), float64(st.max())/float64(floor))
	}
	row("floor: docker run → first 200", b.floors)
	row("floor under the pushes' load (100 req/s + the 10 ms observer)", b.loadedFloors)
	row("tinyforge: first push → served", b.first)
	row("tinyforge: push sent when the previous is served", b.backToBack)
	row("tinyforge: pushes 1 s apart", b.apart)
	row("tinyforge: every push", all)
	row("stop-then-start → served", b.stopStarts)
	w("")
	w("targets (idle floor): median ≤ 1.2 × floor + 0.3 s = %s, max ≤ 1.5 × floor + 0.5 s = %s", ms(targetMed), ms(targetMax))
	for _, c := range []struct {
		name string
		st   stats
	}{{"first push", b.first}, {"push when the previous is served", b.backToBack}, {"pushes 1 s apart", b.apart}, {"every push", all}} {
		w("- %s: median %s %s, max %s %s", c.name, ms(c.st.median()), verdict(c.st.median() <= targetMed), ms(c.st.max()), verdict(c.st.max() <= targetMax))
	}
	w("failed requests at 100 req/s: tinyforge %d of %d; stop-then-start %d of %d", b.failed, b.sent, b.ssFailed, b.ssSent)
	w("sidecar CPU per deploy (incl. drains and idle loops): median %s, max %s (target < 50 ms)", ms(b.cpuPerDeploy.median()), ms(b.cpuPerDeploy.max()))
	var rss []string
	for _, r := range b.rss {
		rss = append(rss, fmt.Sprintf("%.1f MB", float64(r)/(1<<20)))
	}
	w("sidecar RSS idle after each run: %s (target < 40 MB)", strings.Join(rss, ", "))
	w("")
	w("| phase of a tinyforge deploy | n | median | max |")
	w("|---|---|---|---|")
	for _, name := range phaseNames {
		st := b.phases[name]
		w("| %s | %d | %s | %s |", name, len(st), ms(st.median()), ms(st.max()))
	}
	fmt.Print(out.String())
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// cpuPressure is the machine's CPU pressure (share of time a task waited
// for a CPU, last 60 s), which tells how shared the machine was.
func cpuPressure() string {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return "CPU pressure unknown"
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "avg60="); ok {
			return "CPU pressure " + v + " %"
		}
	}
	return "CPU pressure unknown"
}
