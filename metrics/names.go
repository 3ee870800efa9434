package metrics

// Metric names, declared once: every series the sidecar exposes is here.
const (
	nameDeploys           = "tinyforge_deploys_total"
	nameDeployPhase       = "tinyforge_deploy_phase_seconds"
	nameDeploy            = "tinyforge_deploy_seconds"
	nameWebhookDeliveries = "tinyforge_webhook_deliveries_total"
	nameInboxPending      = "tinyforge_inbox_pending"
	nameReconcile         = "tinyforge_reconcile_seconds"
	nameEventsReconnects  = "tinyforge_docker_events_reconnects_total"
	nameWorkloads         = "tinyforge_workloads"
	nameInstances         = "tinyforge_instances"
	nameTasks             = "tinyforge_tasks"
	nameNotifications     = "tinyforge_notifications_total"
	nameBuildInfo         = "tinyforge_build_info"
)

// Label names.
const (
	labelWorkload = "workload"
	labelOutcome  = "outcome"
	labelPhase    = "phase"
	labelSource   = "source"
	labelState    = "state"
	labelTarget   = "target"
	labelVersion  = "version"
	labelCommit   = "commit"
)

// Other is the label value every value outside a label's fixed set is
// counted under, so a caller's typo or an attacker's input never creates a
// series.
const Other = "other"

// Deploy outcomes (tinyforge_deploys_total).
const (
	DeploySucceeded  = "succeeded"
	DeployFailed     = "failed"
	DeployRolledBack = "rolled_back"
	DeploySkipped    = "skipped"
)

// Deploy phases (tinyforge_deploy_phase_seconds).
const (
	PhasePull    = "pull"
	PhaseRelease = "release" // the release command, when the workload has one
	PhaseCreate  = "create"
	PhaseHealth  = "health"
	PhaseSwitch  = "switch"
	PhaseWatch   = "watch"
	PhaseDrain   = "drain"
)

// Webhook delivery outcomes (tinyforge_webhook_deliveries_total).
const (
	DeliveryAccepted     = "accepted"
	DeliveryDuplicate    = "duplicate"
	DeliveryIgnored      = "ignored"
	DeliveryRejected     = "rejected"
	DeliveryUnauthorized = "unauthorized"
)

// Workload states (tinyforge_workloads).
const (
	WorkloadDeclared = "declared"
	WorkloadOrphaned = "orphaned"
	WorkloadConflict = "conflict"
	WorkloadInvalid  = "invalid"
)

// Notification outcomes (tinyforge_notifications_total).
const (
	NotificationSent    = "sent"
	NotificationFailed  = "failed"
	NotificationDropped = "dropped"
)

// The fixed value sets of each bounded label. Instance states are Docker's
// container states, so a caller passes container.State as it is; on a
// swarm (Options.Swarm) an instance is a service, and its states are
// swarmhost's: running (every replica runs), starting (fewer run), exited
// (scaled to zero). Task states are the swarm's task states.
var (
	deployOutcomes   = []string{DeploySucceeded, DeployFailed, DeployRolledBack, DeploySkipped, Other}
	deployPhases     = []string{PhasePull, PhaseRelease, PhaseCreate, PhaseHealth, PhaseSwitch, PhaseWatch, PhaseDrain, Other}
	deliveryOutcomes = []string{DeliveryAccepted, DeliveryDuplicate, DeliveryIgnored, DeliveryRejected, DeliveryUnauthorized, Other}
	workloadStates   = []string{WorkloadDeclared, WorkloadOrphaned, WorkloadConflict, WorkloadInvalid, Other}
	instanceStates   = []string{"created", "running", "restarting", "paused", "removing", "exited", "dead", Other}
	serviceStates    = []string{"running", "starting", "exited", Other}
	taskStates       = []string{"new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running",
		"complete", "shutdown", "failed", "rejected", "remove", "orphaned", Other}
	notificationOutcomes = []string{NotificationSent, NotificationFailed, NotificationDropped, Other}
)

// Histogram buckets, seconds: a phase takes from milliseconds (switch) to
// minutes (a large pull, a long watch); a reconcile pass should stay under
// a second.
var (
	phaseBuckets     = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	deployBuckets    = []float64{0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}
	reconcileBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
)

// bounded returns v when it is one of set, else Other.
func bounded(v string, set []string) string {
	for _, s := range set {
		if v == s {
			return v
		}
	}
	return Other
}
