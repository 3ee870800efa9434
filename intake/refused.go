package intake

import (
	"maps"
	"slices"

	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/webhook"
)

// Refusing is a Declared that also knows workloads that are declared but
// may not be deployed now (controllers: declared differently by several
// controllers, with no agreed declaration known). Their deliveries are
// answered and recorded with the reason, rather than as a push no
// workload uses.
type Refusing interface {
	// Refused returns such workloads by name: the reason, and the
	// declarations in question, whose images a push is matched against.
	Refused() (reasons map[string]string, declarations map[string][]*labels.Workload)
}

// refusals asks the declared set for refused workloads (none when it
// cannot tell).
func (in *Intake) refusals() (map[string]string, map[string][]*labels.Workload) {
	r, ok := in.declared.(Refusing)
	if !ok {
		return nil, nil
	}
	return r.Refused()
}

// refusedFor lists, in name order, the refused workloads one of whose
// declarations uses the pushed repository, each with its reason.
func (in *Intake) refusedFor(repo string, reasons map[string]string, decls map[string][]*labels.Workload) []skip {
	var out []skip
	for _, name := range slices.Sorted(maps.Keys(reasons)) {
		if slices.ContainsFunc(decls[name], func(w *labels.Workload) bool { return in.repository(w.Image) == repo }) {
			out = append(out, skip{name, reasons[name]})
		}
	}
	return out
}

// withRefusals adds the refused workloads using p's repository to the
// skips of route: a push meant for them is then not one "no workload
// uses" (the skip of no workload is dropped).
func (in *Intake) withRefusals(p webhook.Push, skipped []skip, reasons map[string]string, decls map[string][]*labels.Workload) []skip {
	if len(reasons) == 0 {
		return skipped
	}
	repo, err := imageref.Repository(p.Image())
	if err != nil {
		return skipped
	}
	refused := in.refusedFor(repo, reasons, decls)
	if len(refused) == 0 {
		return skipped
	}
	return append(slices.DeleteFunc(skipped, func(s skip) bool { return s.workload == "" }), refused...)
}
