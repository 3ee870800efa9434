// Package metrics owns the sidecar's Prometheus metrics: their names (one
// file), a private registry, the methods the daemon calls when something
// happens, and the /metrics handler. It keeps every label value bounded:
// workload names are the only open set, and a workload that goes away is
// forgotten. It must not import the daemon's packages (sidecar, deployer,
// webhook): they call it, through a small interface of their own.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options configures New.
type Options struct {
	Version string // tinyforge_build_info{version}
	Commit  string // tinyforge_build_info{commit}
	// Sources are the webhook sources the daemon serves (the <source> of
	// /v1/hooks/<source>); any other source is counted as "other". Their
	// series exist from the start, at zero.
	Sources []string
	// Runtime adds the standard go_* and process_* collectors (CPU,
	// memory, goroutines) beside the tinyforge_* metrics.
	Runtime bool
	// Swarm is the sidecar's --engine swarm: tinyforge_instances counts
	// services by their state (running, starting, exited), and
	// tinyforge_tasks counts their tasks by task state.
	Swarm bool
}

// Metrics holds every metric on a registry of its own (not the global
// one), so two sidecars in one test process never share a series. Its
// methods are safe for concurrent use; a nil *Metrics does nothing, so
// metrics can be turned off by passing nil.
type Metrics struct {
	reg *prometheus.Registry

	deploys       *prometheus.CounterVec
	deployPhase   *prometheus.HistogramVec
	deploy        *prometheus.HistogramVec
	deliveries    map[[2]string]prometheus.Counter // {source, outcome}
	inboxPending  prometheus.Gauge
	reconcile     prometheus.Histogram
	reconnects    prometheus.Counter
	workloads     *prometheus.GaugeVec
	instances     *prometheus.GaugeVec
	instStates    []string             // the states of instances: containers', or services' on a swarm
	tasks         *prometheus.GaugeVec // nil unless Options.Swarm
	notifications *prometheus.CounterVec

	mu      sync.RWMutex
	perLoad map[string]*workloadSeries // the deploy series of each workload seen
}

// New registers every metric on a new registry.
func New(o Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), perLoad: map[string]*workloadSeries{}}
	m.deploys = prometheus.NewCounterVec(prometheus.CounterOpts{Name: nameDeploys,
		Help: "Deploys finished, by workload and outcome (succeeded, failed, rolled_back, skipped)."},
		[]string{labelWorkload, labelOutcome})
	m.deployPhase = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: nameDeployPhase,
		Help:    "Time a deploy spent in each phase (pull, create, health, switch, watch, drain), seconds.",
		Buckets: phaseBuckets}, []string{labelWorkload, labelPhase})
	m.deploy = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: nameDeploy,
		Help:    "Time from a deploy's request to the new version serving, seconds (succeeded deploys only).",
		Buckets: deployBuckets}, []string{labelWorkload})
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{Name: nameWebhookDeliveries,
		Help: "Webhook deliveries received, by source and outcome."}, []string{labelSource, labelOutcome})
	m.inboxPending = prometheus.NewGauge(prometheus.GaugeOpts{Name: nameInboxPending,
		Help: "Deploy requests accepted and not yet taken by a deploy."})
	m.reconcile = prometheus.NewHistogram(prometheus.HistogramOpts{Name: nameReconcile,
		Help: "Duration of one reconcile pass, seconds.", Buckets: reconcileBuckets})
	m.reconnects = prometheus.NewCounter(prometheus.CounterOpts{Name: nameEventsReconnects,
		Help: "Times the Docker events stream was lost and re-opened."})
	m.workloads = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameWorkloads,
		Help: "Workloads by state (declared, orphaned, conflict, invalid)."}, []string{labelState})
	m.instances = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameInstances,
		Help: "Containers of each workload, by Docker state."}, []string{labelWorkload, labelState})
	m.instStates = instanceStates
	if o.Swarm {
		m.instances = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameInstances,
			Help: "Services (deployed versions) of each workload, by state: running (every replica), starting, exited."},
			[]string{labelWorkload, labelState})
		m.instStates = serviceStates
		m.tasks = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameTasks,
			Help: "Tasks meant to run of each workload's services, by swarm task state."}, []string{labelWorkload, labelState})
		m.reg.MustRegister(m.tasks)
	}
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{Name: nameNotifications,
		Help: "Notification messages, by target and outcome (sent, failed, dropped)."}, []string{labelTarget, labelOutcome})
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameBuildInfo,
		Help: "Always 1; the labels say which build of tinyforge runs."}, []string{labelVersion, labelCommit})

	m.reg.MustRegister(m.deploys, m.deployPhase, m.deploy, deliveries, m.inboxPending, m.reconcile,
		m.reconnects, m.workloads, m.instances, m.notifications, buildInfo)
	if o.Runtime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	buildInfo.WithLabelValues(orUnknown(o.Version), orUnknown(o.Commit)).Set(1)

	// Every (source, outcome) series exists from the start: rate() of a
	// series that appears only at its first increment misses that one.
	m.deliveries = map[[2]string]prometheus.Counter{}
	for _, s := range append(append([]string(nil), o.Sources...), Other) {
		for _, out := range deliveryOutcomes {
			m.deliveries[[2]string{s, out}] = deliveries.WithLabelValues(s, out)
		}
	}
	for _, s := range workloadStates {
		m.workloads.WithLabelValues(s)
	}
	return m
}

// Registry is where every metric lives, for a caller adding its own or a
// test gathering them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// WebhookDelivery counts one delivery from source with its outcome
// (accepted, duplicate, ignored, rejected, unauthorized). A source the
// daemon does not serve counts as "other".
func (m *Metrics) WebhookDelivery(source, outcome string) {
	if m == nil {
		return
	}
	c, ok := m.deliveries[[2]string{source, outcome}]
	if !ok {
		if _, known := m.deliveries[[2]string{source, DeliveryAccepted}]; !known {
			source = Other
		}
		c = m.deliveries[[2]string{source, bounded(outcome, deliveryOutcomes)}]
	}
	c.Inc()
}

// InboxPending sets how many deploy requests wait in the inbox.
func (m *Metrics) InboxPending(n int) {
	if m == nil {
		return
	}
	m.inboxPending.Set(float64(n))
}

// ReconcilePass records the duration of one reconcile pass.
func (m *Metrics) ReconcilePass(d time.Duration) {
	if m == nil {
		return
	}
	m.reconcile.Observe(d.Seconds())
}

// DockerEventsReconnect counts one loss and re-open of the events stream.
func (m *Metrics) DockerEventsReconnect() {
	if m == nil {
		return
	}
	m.reconnects.Inc()
}

// Workloads sets the number of workloads in each state (declared,
// orphaned, conflict, invalid); a state absent from counts is zero, an
// unknown one is added to "other".
func (m *Metrics) Workloads(counts map[string]int) {
	if m == nil {
		return
	}
	setStates(m.workloads, nil, workloadStates, counts)
}

// Instances sets the number of containers of workload in each Docker state
// (created, running, exited, ...), or with Options.Swarm of its services in
// each service state; absent states are zero.
func (m *Metrics) Instances(workload string, counts map[string]int) {
	if m == nil {
		return
	}
	setStates(m.instances, []string{workload}, m.instStates, counts)
}

// Tasks sets the number of tasks of workload's services in each swarm task
// state (pending, preparing, running, failed, ...); absent states are zero.
// Without Options.Swarm it does nothing. No node label: a node's id changes
// when it rejoins, and where tasks run is in GET /v1/workloads and the
// deploy history.
func (m *Metrics) Tasks(workload string, counts map[string]int) {
	if m == nil || m.tasks == nil {
		return
	}
	setStates(m.tasks, []string{workload}, taskStates, counts)
}

// NotificationSent counts one notification message to target with its
// outcome (sent, failed, dropped). Targets are the configured names.
func (m *Metrics) NotificationSent(target, outcome string) {
	if m == nil {
		return
	}
	m.notifications.WithLabelValues(target, bounded(outcome, notificationOutcomes)).Inc()
}

// setStates sets vec{prefix..., state} for every state of the fixed set.
func setStates(vec *prometheus.GaugeVec, prefix, states []string, counts map[string]int) {
	sum := make(map[string]int, len(states))
	for s, n := range counts {
		sum[bounded(s, states)] += n
	}
	lvs := append(append([]string(nil), prefix...), "")
	for _, s := range states {
		lvs[len(lvs)-1] = s
		vec.WithLabelValues(lvs...).Set(float64(sum[s]))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
