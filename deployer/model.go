package deployer

import (
	"slices"
	"time"
)

// Request is one operation on one workload (see Kind): most often, run
// one tag.
type Request struct {
	Kind     Kind // "" = KindDeliver
	Workload string
	Tag      string // "" = the workload's default tag
	Digest   string // manifest digest from the trigger, when it carries one
	Source   string // what asked: "distribution", "api", "labels", ...
	Delivery string // delivery or event id from the trigger, for logs
	// Entries are the ids of the durable inbox entries this request
	// stands for: its own and those of the requests merged into it by the
	// queue. Finishing it acknowledges exactly these (and Superseded's).
	Entries []string
	// Superseded are the requests a barrier (rollback, teardown) made
	// obsolete: they were pending before it and will never run.
	Superseded []Request
	// Received is when the sidecar took the request in (a webhook's 202,
	// an API call): the start of its time to serve. Zero when unknown.
	Received time.Time
}

// Covers lists every inbox entry that finishing r settles: its own and
// those of the requests it superseded.
func (r Request) Covers() []string {
	out := slices.Clone(r.Entries)
	for _, s := range r.Superseded {
		out = append(out, s.Covers()...)
	}
	return out
}

// Instance states, as recorded in the store.
const (
	StateCreated = "created"
	StateRunning = "running"
	StateExited  = "exited"
	StateMissing = "missing" // the container is gone from Docker
)

// Instance is one container the deployer created for a workload.
type Instance struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Workload string            `json:"workload"`
	Image    string            `json:"image"` // repository:tag
	Tag      string            `json:"tag"`
	Digest   string            `json:"digest,omitempty"`
	Deploy   string            `json:"deploy"`
	State    string            `json:"state"`
	Network  string            `json:"network,omitempty"`
	Address  string            `json:"address,omitempty"` // IP on the workload network
	Created  time.Time         `json:"created"`
	Routes   map[string]string `json:"routes,omitempty"` // host -> route id
	// HostPorts maps container ports to the Docker host ports they are
	// published on (only when Config.PublishHost is set).
	HostPorts map[int]int `json:"host_ports,omitempty"`
}

// Route sends one public host to one upstream container.
type Route struct {
	ID        string `json:"id"`
	Workload  string `json:"workload"`
	Face      string `json:"face"`
	Host      string `json:"host"`
	Upstream  string `json:"upstream"` // host:port the proxy dials
	Container string `json:"container"`
	// Port is the container port the face targets (Upstream may name a
	// published host port instead).
	Port int `json:"port,omitempty"`
	// TLS: the face asks the proxy to serve it over HTTPS.
	TLS bool `json:"tls,omitempty"`
	// AccessList is the proxy's access-list id for the face; "" lets the
	// plugin apply its default.
	AccessList string `json:"access_list,omitempty"`
}

// Outcomes of a deploy, as recorded in its history event: exactly
// OutcomeDeployed, or one of the prefixes followed by the reason.
const (
	OutcomeDeployed   = "deployed"
	OutcomeFailed     = "failed: "
	OutcomeRolledBack = "rolled back: "
)

// Event is one entry of a workload's deploy history.
type Event struct {
	Time    time.Time     `json:"time"` // when the deploy finished
	Deploy  string        `json:"deploy"`
	Outcome string        `json:"outcome"` // "deployed", "rerouted", "failed: <reason>" or "rolled back: <reason>"
	Image   string        `json:"image"`
	Digest  string        `json:"digest,omitempty"`
	Source  string        `json:"source,omitempty"`
	Took    time.Duration `json:"took"`
	// Switched is the time from the health check passing to every route
	// serving the new container: verified through the proxy when the
	// plugin can (a Verifier), else until the proxy accepted the routes.
	Switched time.Duration `json:"switched,omitempty"`
	// Watch says how the post-switch watch of a successful deploy ended:
	// "passed", "off" (disabled), or "superseded after <d>" when a newer
	// request ended it early. A superseded deploy switched, committed and
	// served without a failure being seen: it stays "deployed" and a
	// rollback target.
	Watch string `json:"watch,omitempty"`
	// Delivery and Workload are set on the records of webhook deliveries
	// (accepted, duplicate, ignored, rejected), which carry no Deploy id.
	Delivery string `json:"delivery,omitempty"`
	Workload string `json:"workload,omitempty"`

	Tag       string     `json:"tag,omitempty"`
	Started   time.Time  `json:"started,omitzero"`    // when the deploy lock was granted
	Epoch     int64      `json:"epoch,omitempty"`     // fencing epoch of the deploy's lease
	Owner     string     `json:"owner,omitempty"`     // sidecar that ran it
	Container string     `json:"container,omitempty"` // name of the new container
	Previous  string     `json:"previous,omitempty"`  // id of the container routed before the switch
	Steps     []StepTime `json:"steps,omitempty"`
	Note      string     `json:"note,omitempty"`    // e.g. "recovered by <owner> after a crash at <step>"
	Received  time.Time  `json:"received,omitzero"` // when the request was taken in (Request.Received)
	// Release is the run of the workload's release command, when it has
	// one and the deploy got as far as running it.
	Release *ReleaseRun `json:"release,omitempty"`
	// Tasks is where the new version ran when the deploy was recorded, on
	// an engine with tasks (swarm): each task meant to run, by slot, with
	// its node and state. A successful deploy records them after its
	// watch; a failed one before its new service is removed. Empty on one
	// Docker host. See TaskSummary.
	Tasks []TaskAt `json:"tasks,omitempty"`
}

// TaskAt is one task (replica) of a deployed version: its slot, the node
// it runs on and its state, as the engine reported them.
type TaskAt struct {
	Slot     int    `json:"slot"`
	Node     string `json:"node"`                // node id
	NodeName string `json:"node_name,omitempty"` // the node's hostname, when known
	State    string `json:"state"`               // the engine's task state: running, preparing, failed, ...
}

// TaskSummary is the record's tasks in one line (see SummarizeTasks); ""
// when it has none.
func (ev Event) TaskSummary() string { return SummarizeTasks(ev.Tasks) }

// ReleaseRun is how a deploy's release command ended, as its history keeps it.
type ReleaseRun struct {
	Container string        `json:"container"`       // name of the one-off container
	Exit      int           `json:"exit"`            // exit code; -1 when it did not exit (timeout, error)
	Took      time.Duration `json:"took"`            // start to exit
	Error     string        `json:"error,omitempty"` // why it did not exit 0 otherwise: timeout, Docker error
	// Output is the end of what the command wrote (stdout and stderr),
	// at most ReleaseOutputMax bytes; the values of secret env overrides
	// are masked.
	Output string `json:"output,omitempty"`
}

// ContainerSpec is everything needed to create one workload container.
type ContainerSpec struct {
	Name    string
	Image   string
	Env     []string // KEY=value, sorted
	Port    int
	Network string
	Labels  map[string]string
	Mounts  []Mount
	// Cmd and Entrypoint override the image's when non-nil; an empty
	// non-nil Entrypoint clears the image's entrypoint.
	Cmd         []string
	Entrypoint  []string
	NanoCPUs    int64 // CPU limit in 1e-9 cores; 0 = unlimited
	MemoryBytes int64 // memory limit in bytes; 0 = unlimited
	PidsLimit   int64 // most processes and threads; 0 = unlimited
	// Publish lists container ports to publish on ephemeral ports of the
	// Docker host, bound to PublishIP ("" = every address).
	Publish   []int
	PublishIP string
	// OneOff: the container runs to completion (a release command) and is
	// never restarted; a serving container is restarted unless stopped.
	OneOff bool
	// Replicas, Constraints and Preferences place the version on a swarm
	// (an engine with tasks: see Tasker); one Docker host ignores them,
	// and the deployer never asks it for more than one replica.
	Replicas    int // 0 means 1
	Constraints []string
	Preferences []string
}

// Container is the deployer's view of a Docker container.
type Container struct {
	ID      string
	Name    string
	Image   string
	Labels  map[string]string
	Running bool
	State   string // Docker's state: created, running, exited, ...
	Created time.Time
	IPs     map[string]string // network name -> IP address
	// HostPorts maps published container ports to their host ports.
	HostPorts map[int]int
	// Health is Docker's health status ("healthy", "unhealthy",
	// "starting"), "" when the image declares no HEALTHCHECK.
	Health string
	// Restarts counts restarts by the engine (inspect only; 0 from a list).
	Restarts int
	// Tasks are the tasks meant to run of a service (engine with tasks:
	// swarm), by slot; nil for a container.
	Tasks []TaskAt
}

// Deploys keeps the records of deploys (those with a deploy id) from a
// workload's history, which also records every delivery that concerned it.
func Deploys(history []Event) []Event {
	out := make([]Event, 0, len(history))
	for _, ev := range history {
		if ev.Deploy != "" {
			out = append(out, ev)
		}
	}
	return out
}
