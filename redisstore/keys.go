package redisstore

// DefaultPrefix starts every key the sidecar writes. It must stay outside
// Traefik's KV root ("traefik"), which Traefik scans and watches.
const DefaultPrefix = "tinyforge:"

// HistoryLen is roughly how many events each workload's history keeps
// (XADD MAXLEN ~: Redis trims whole nodes, so a few more may remain).
const HistoryLen = 1000

// eventField is the one stream field holding an event as JSON.
const eventField = "event"

// keys is the whole key layout, in one place. Workload names are used
// verbatim inside keys.
type keys struct{ prefix string }

// instances is a hash: container id -> Instance JSON.
func (k keys) instances() string { return k.prefix + "instances" }

// workloadInstances is a set of container ids, the index for one workload.
func (k keys) workloadInstances(workload string) string {
	return k.prefix + "workload:" + workload + ":instances"
}

// routes is a hash: route id -> Route JSON.
func (k keys) routes() string { return k.prefix + "routes" }

// workloadRoutes is a set of route ids, the index for one workload.
func (k keys) workloadRoutes(workload string) string {
	return k.prefix + "workload:" + workload + ":routes"
}

// events is a stream of one workload's deploy history.
func (k keys) events(workload string) string { return k.prefix + "events:" + workload }

// seq is a counter that only grows.
func (k keys) seq(name string) string { return k.prefix + "seq:" + name }

// consumer is an inbox consumer's heartbeat, with a TTL.
func (k keys) consumer(name string) string { return k.prefix + "consumer:" + name }

// inbox is the stream of accepted deploy requests not yet acknowledged
// (the durable inbox), read through the consumer group InboxGroup.
func (k keys) inbox() string { return k.prefix + "inbox" }

// delivery marks one delivery or event id as seen, with a TTL.
func (k keys) delivery(id string) string { return k.prefix + "delivery:" + id }

// pushOrder is a hash (at, tag) of the newest push time admitted for one
// workload, with a TTL (pushorder.go).
func (k keys) pushOrder(workload string) string { return k.prefix + "pushorder:" + workload }

// globalEvents is the stream of deliveries that concern no workload
// (ignored or rejected); "_" cannot start a workload name.
func (k keys) globalEvents() string { return k.prefix + "events:_global" }

// lock is a workload's deploy lock: the holder's token, with a TTL.
func (k keys) lock(workload string) string { return k.prefix + "lock:" + workload }

// epoch counts the grants of a workload's lock; it only grows.
func (k keys) epoch(workload string) string { return k.prefix + "epoch:" + workload }

// fence is "<epoch>:<token>" of the newest grant of a workload's lock;
// fenced writes compare against it. It has no TTL.
func (k keys) fence(workload string) string { return k.prefix + "fence:" + workload }

// journals is a hash: deploy id -> Journal JSON of every unfinished deploy.
func (k keys) journals() string { return k.prefix + "journals" }

// hosts is a hash: public host name -> the workload that owns it.
func (k keys) hosts() string { return k.prefix + "hosts" }

// pending is a hash: workload -> Pending JSON, the delivery waiting for
// approval (pending.go).
func (k keys) pending() string { return k.prefix + "pending" }
