package labels

import (
	"regexp"
	"strconv"
	"strings"
)

// Placement is where a swarm may run a workload's tasks. The docker
// engine has one host and refuses a placement.
type Placement struct {
	Constraints string `description:"Swarm placement constraints the nodes must meet, comma-separated (node.role==worker,node.labels.zone!=b)."`
	Preferences string `description:"Node attributes to spread the tasks evenly over, comma-separated, most important first (node.labels.zone)."`
}

// MaxReplicas bounds the replicas label to catch typos.
const MaxReplicas = 1000

// ConstraintList is the placement constraints, one per entry.
func (p Placement) ConstraintList() []string { return splitComma(p.Constraints) }

// PreferenceList is the spread preferences, one attribute per entry.
func (p Placement) PreferenceList() []string { return splitComma(p.Preferences) }

// IsZero reports whether the placement asks for nothing.
func (p Placement) IsZero() bool { return p.Constraints == "" && p.Preferences == "" }

func splitComma(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// constraintRe is one swarm constraint: an attribute, == or !=, a value.
var constraintRe = regexp.MustCompile(`^[A-Za-z0-9_.\-]+\s*(==|!=)\s*[^\s,=!]+$`)

// attributeRe is a node attribute a preference spreads over.
var attributeRe = regexp.MustCompile(`^(spread=)?node\.[A-Za-z0-9_.\-]+$`)

// placementProblems reports replicas and placement labels the swarm would
// refuse, before anything is created.
func (w *Workload) placementProblems(prefix string, bad func(key, value, format string, args ...any)) {
	if n := w.Replicas; n < 0 || n > MaxReplicas {
		bad(prefix+".replicas", strconv.Itoa(n), "%d is out of range: 0 and 1 run one task, at most %d", n, MaxReplicas)
	}
	for _, c := range w.Placement.ConstraintList() {
		if !constraintRe.MatchString(c) {
			bad(prefix+".placement.constraints", w.Placement.Constraints, "%q is not a swarm constraint: want attribute==value or attribute!=value (node.role==worker)", c)
		}
	}
	for _, p := range w.Placement.PreferenceList() {
		if !attributeRe.MatchString(p) {
			bad(prefix+".placement.preferences", w.Placement.Preferences, "%q is not a node attribute to spread over: want node.<attribute> (node.labels.zone)", p)
		}
	}
}
