package labels

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/traefik/paerser/parser"
)

// filter selects the labels paerser decodes; it matches case-insensitively,
// like paerser's own filter, so a wrongly cased root is reported, not skipped.
const filter = Root + "."

// workloadsKey is the segment under which workloads are declared.
const workloadsKey = "workloads"

var controllerType = reflect.TypeOf(Controller{})

// label is one tinyforge.* label.
type label struct {
	key, value string
	segs       []string // the segments after the root
	workload   string   // workload the label belongs to, as spelled in it; "" for controller-level labels
	leaf       reflect.Type
}

// group is the labels of one workload, or the controller-level labels.
type group struct {
	workload string  // the workload name as first spelled; "" for controller-level labels
	labels   []label // labels that passed every single-label check
	errs     []error // problems of the others
}

// Decode decodes the tinyforge.* labels of a controller container. Foreign
// labels are ignored. It fails as a whole, naming every bad label; use
// Workloads to keep the good workloads of a partly bad controller. Decode
// does not validate: call Controller.Validate.
func Decode(containerLabels map[string]string) (*Controller, error) {
	ctrl, groups := collect(containerLabels)
	all := ctrl.labels
	errs := ctrl.errs
	for _, g := range groups {
		all = append(all, g.labels...)
		errs = append(errs, g.errs...)
	}
	root, decodeErrs := decodeLabels(all, Root+".*", "")
	errs = append(errs, decodeErrs...)
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errors.Join(errs...)
	}
	for _, w := range root.Workloads {
		w.Settings = root.Settings
	}
	return root, nil
}

// Workloads decodes and validates every workload of a controller container
// independently: it returns the valid workloads by name, and every problem
// of the others (and of controller-level labels), sorted by label key. One
// bad workload never hides the others. Whether the container is a
// controller at all (tinyforge.enable) is the caller's filter.
func Workloads(containerLabels map[string]string) (map[string]*Workload, []error) {
	c, errs := Parse(containerLabels)
	return c.Workloads, errs
}

// Parse is Workloads keeping the controller-level labels too: it returns a
// Controller holding enable, the settings when they are valid (else zero
// settings) and the valid workloads, with every problem sorted by label
// key. The Controller is never nil.
func Parse(containerLabels map[string]string) (*Controller, []error) {
	ctrl, groups := collect(containerLabels)
	errs := ctrl.errs
	root, decodeErrs := decodeLabels(ctrl.labels, Root+".*", "")
	errs = append(errs, decodeErrs...)
	out := &Controller{Enable: root.Enable, Scope: root.Scope, Signature: root.Signature, Workloads: make(map[string]*Workload)}
	if bad := root.Settings.problems(); len(bad) == 0 {
		out.Settings = root.Settings
	} else {
		errs = append(errs, bad...)
	}

	for _, id := range slices.Sorted(maps.Keys(groups)) {
		g := groups[id]
		root, decodeErrs := decodeLabels(g.labels, Root+"."+workloadsKey+"."+g.workload, g.workload)
		bad := slices.Concat(g.errs, decodeErrs)
		for name, w := range root.Workloads {
			// Validate what did decode, so one round of fixes suffices; a
			// label already reported (port="80a") is not reported again as
			// missing.
			for _, p := range w.problems() {
				if !reported(bad, p) {
					bad = append(bad, p)
				}
			}
			if len(bad) == 0 {
				out.Workloads[name] = w
			}
		}
		errs = append(errs, bad...)
	}
	for _, w := range out.Workloads {
		w.Settings = out.Settings
	}
	sortErrors(errs)
	return out, errs
}

// reported tells whether errs already has a problem with err's label.
func reported(errs []error, err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for _, other := range errs {
		var o *Error
		if errors.As(other, &o) && foldKey(o.Key) == foldKey(e.Key) {
			return true
		}
	}
	return false
}

// collect picks the labels paerser's filter selects, groups them by
// workload (case-insensitively, as paerser merges them) and records every
// problem visible in a single label: wrongly cased root, malformed
// segment, unknown key, value on a group of keys, keys that differ only by
// case.
func collect(containerLabels map[string]string) (ctrl *group, workloads map[string]*group) {
	ctrl = &group{}
	workloads = make(map[string]*group)
	seen := make(map[string]string) // foldKey(key) → first key
	for _, key := range slices.Sorted(maps.Keys(containerLabels)) {
		if len(key) < len(filter) || !strings.EqualFold(key[:len(filter)], filter) {
			continue
		}
		l := label{key: key, value: containerLabels[key], segs: strings.Split(key[len(filter):], ".")}
		g := ctrl
		if len(l.segs) > 1 && strings.EqualFold(l.segs[0], workloadsKey) && l.segs[1] != "" {
			l.workload = l.segs[1]
			id := foldKey(l.workload)
			if workloads[id] == nil {
				workloads[id] = &group{workload: l.workload}
			}
			g = workloads[id]
		}
		// These problems are all in the key, so the value (maybe a secret
		// env value) stays out of the error.
		bad := func(format string, args ...any) {
			g.errs = append(g.errs, &Error{Key: key, Workload: l.workload, Reason: fmt.Sprintf(format, args...)})
		}

		if !strings.HasPrefix(key, filter) {
			bad("the label root must be written %q in lowercase", filter)
			continue
		}
		if first, ok := seen[foldKey(key)]; ok {
			bad("same key as %s: keys are case-insensitive after %q, so one would silently replace the other", first, filter)
			continue
		}
		seen[foldKey(key)] = key
		if reason := firstSegmentProblem(l.segs); reason != "" {
			bad("%s", reason)
			continue
		}
		leaf, perr := locate(controllerType, l.segs)
		if perr != nil {
			bad("%s", perr.reason)
			continue
		}
		l.leaf = leaf
		g.labels = append(g.labels, l)
	}
	for _, g := range append([]*group{ctrl}, slices.Collect(maps.Values(workloads))...) {
		g.labels, g.errs = dropShadowed(g.labels, g.errs)
	}
	return ctrl, workloads
}

// dropShadowed reports labels that are also the parent of another label,
// as in env.A=1 next to env.A.B=2: paerser keeps A.B and silently drops A.
// (Elsewhere locate already refuses such pairs.)
func dropShadowed(ls []label, errs []error) ([]label, []error) {
	parents := make(map[string]string) // foldKey of every proper prefix → a key below it
	for _, l := range ls {
		k := foldKey(l.key)
		for i := len(k) - 1; i > 0; i-- {
			if k[i] == '.' {
				parents[k[:i]] = l.key
			}
		}
	}
	kept := ls[:0]
	for _, l := range ls {
		if child, ok := parents[foldKey(l.key)]; ok {
			errs = append(errs, &Error{Key: l.key, Workload: l.workload,
				Reason: fmt.Sprintf("has a value and also sub-keys (%s): the value would be silently dropped", child)})
			continue
		}
		kept = append(kept, l)
	}
	return kept, errs
}

func firstSegmentProblem(segs []string) string {
	for _, seg := range segs {
		if reason := checkSegment(seg); reason != "" {
			return reason
		}
	}
	return ""
}

// decodeLabels runs paerser over labels that passed collect. When paerser
// fails, each label is decoded alone to find the culprits, because
// paerser's errors name a segment at best and only a strconv error at
// worst. The culprits are reported and left out, and the rest is decoded
// again so the caller can still validate it. The returned root is never nil.
func decodeLabels(ls []label, where, workload string) (*Controller, []error) {
	root, err := decodeSubset(ls)
	if err == nil {
		return root, nil
	}
	var errs []error
	var good []label
	for _, l := range ls {
		if lerr := parser.Decode(map[string]string{l.key: l.value}, newController(), Root, filter); lerr != nil {
			errs = append(errs, explain(l, l.leaf, lerr))
			continue
		}
		good = append(good, l)
	}
	if len(errs) > 0 {
		root, err = decodeSubset(good)
	}
	if err != nil {
		// No single label is to blame: report the set.
		return newController(), append(errs, &Error{Key: where, Workload: workload, Reason: "cannot decode labels: " + err.Error(), Err: err})
	}
	return root, errs
}

// decodeSubset decodes labels with paerser and names the workloads.
func decodeSubset(ls []label) (*Controller, error) {
	subset := make(map[string]string, len(ls))
	for _, l := range ls {
		subset[l.key] = l.value
	}
	root := newController()
	if err := parser.Decode(subset, root, Root, filter); err != nil {
		return nil, err
	}
	for name, w := range root.Workloads {
		w.Name = name
	}
	return root, nil
}

// newController is the decode root, pre-filled because paerser runs
// SetDefaults only on the values it allocates, never on the root.
func newController() *Controller {
	return &Controller{Workloads: make(map[string]*Workload)}
}
