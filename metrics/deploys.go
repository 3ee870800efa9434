package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Phase is the time one phase of a deploy took.
type Phase struct {
	Name string // pull, create, health, switch, watch or drain
	Took time.Duration
}

// workloadSeries caches a workload's outcome counters and deploy time, so
// they are looked up in one map read instead of hashing label values. Phase
// histograms are made on first use: a workload shows only the phases its
// deploys went through.
type workloadSeries struct {
	outcomes map[string]prometheus.Counter
	total    prometheus.Observer
}

// DeployFinished records one finished deploy of workload: its outcome
// (succeeded, failed, rolled_back, skipped), the phases it went through
// and, for a succeeded deploy, the time from request to serving. An
// unknown outcome or phase is counted as "other".
func (m *Metrics) DeployFinished(workload, outcome string, phases []Phase, total time.Duration) {
	if m == nil {
		return
	}
	s := m.series(workload)
	c, ok := s.outcomes[outcome]
	if !ok {
		c = s.outcomes[Other]
	}
	c.Inc()
	for _, p := range phases {
		m.deployPhase.WithLabelValues(workload, bounded(p.Name, deployPhases)).Observe(p.Took.Seconds())
	}
	if outcome == DeploySucceeded && total > 0 {
		s.total.Observe(total.Seconds())
	}
}

// DeployPhase records one phase of a deploy that ends after its outcome
// was recorded: the drain of the containers a deploy replaced runs in the
// background, after the deploy counted as succeeded.
func (m *Metrics) DeployPhase(workload string, p Phase) {
	if m == nil {
		return
	}
	m.deployPhase.WithLabelValues(workload, bounded(p.Name, deployPhases)).Observe(p.Took.Seconds())
}

// ForgetWorkload deletes every series of a workload that went away, so a
// renamed or removed workload does not stay in the output for ever.
func (m *Metrics) ForgetWorkload(workload string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	delete(m.perLoad, workload)
	m.mu.Unlock()
	l := prometheus.Labels{labelWorkload: workload}
	m.deploys.DeletePartialMatch(l)
	m.deployPhase.DeletePartialMatch(l)
	m.deploy.DeletePartialMatch(l)
	m.instances.DeletePartialMatch(l)
	if m.tasks != nil {
		m.tasks.DeletePartialMatch(l)
	}
}

// series returns the cached series of workload, creating them (every
// outcome at zero) on first use.
func (m *Metrics) series(workload string) *workloadSeries {
	m.mu.RLock()
	s := m.perLoad[workload]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.perLoad[workload]; s != nil {
		return s
	}
	s = &workloadSeries{outcomes: map[string]prometheus.Counter{}, total: m.deploy.WithLabelValues(workload)}
	for _, o := range deployOutcomes {
		s.outcomes[o] = m.deploys.WithLabelValues(workload, o)
	}
	m.perLoad[workload] = s
	return s
}
