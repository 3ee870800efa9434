package deployer

import "fmt"

// Kind is what an operation does to a workload. Every kind travels the
// same durable path (inbox, queue, executor); the queue's rules differ by
// kind so that no kind swallows another (see Plan).
type Kind string

// The operation kinds.
const (
	// KindDeliver deploys a pushed or requested tag (webhooks, the deploy
	// API). Newer deliveries replace pending ones: the newest push wins.
	KindDeliver Kind = "deliver"
	// KindConverge redeploys what serves, under the labels current when it
	// runs (the controllers' labels changed).
	KindConverge Kind = "converge"
	// KindRollback deploys one earlier digest the operator chose.
	KindRollback Kind = "rollback"
	// KindTeardown removes the workload's routes, containers and records.
	KindTeardown Kind = "teardown"
)

// ParseKind reads a stored kind; "" is a delivery (entries written before
// kinds existed).
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case "":
		return KindDeliver, nil
	case KindDeliver, KindConverge, KindRollback, KindTeardown:
		return k, nil
	}
	return "", fmt.Errorf("unknown operation kind %q (want deliver, converge, rollback or teardown)", s)
}

// Barrier reports whether k is an operation the queue never replaces and
// never lets a later one jump: what the operator asked for explicitly.
func (k Kind) Barrier() bool { return k == KindRollback || k == KindTeardown }

// kind is r's kind, a zero Kind read as a delivery.
func (r Request) kind() Kind {
	if r.Kind == "" {
		return KindDeliver
	}
	return r.Kind
}
