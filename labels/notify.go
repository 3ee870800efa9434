package labels

import (
	"regexp"
	"slices"
	"strings"
)

// NotifyNone as a workload's notify label sends no message about it, even
// to the sidecar's default targets.
const NotifyNone = "none"

// notifyTarget is a target name as the sidecar's --notify NAME=URL takes
// it: short and plain, since it is also a metric label value.
var notifyTarget = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidNotifyTarget reports whether name is a notify target name, the one
// grammar of the notify label's names and of notify's --notify NAME=URL.
func ValidNotifyTarget(name string) bool { return notifyTarget.MatchString(name) }

// NotifyTargets are the target names the notify label lists, each once, in
// order; nil when the label is unset (the sidecar's default targets) or
// none (see NotifyMuted).
func (w *Workload) NotifyTargets() []string {
	if w.NotifyMuted() {
		return nil
	}
	var names []string
	for _, n := range strings.Split(w.Notify, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// NotifyMuted reports whether the notify label is none: no message at all.
func (w *Workload) NotifyMuted() bool { return strings.TrimSpace(w.Notify) == NotifyNone }

// notifyProblems checks the syntax of the notify label. Whether a name is
// configured is the sidecar's to say: labels do not know its flags.
func (w *Workload) notifyProblems(prefix string, bad func(key, value, format string, args ...any)) {
	if w.Notify == "" || w.NotifyMuted() {
		return
	}
	for _, n := range strings.Split(w.Notify, ",") {
		switch n = strings.TrimSpace(n); {
		case n == "":
		case n == NotifyNone:
			bad(prefix+".notify", w.Notify, "%q cannot be combined with target names: give none alone, or only names", NotifyNone)
			return
		case !notifyTarget.MatchString(n):
			bad(prefix+".notify", w.Notify, "%q is not a target name (1-32 of a-z, 0-9, '-', '_', starting with a letter or digit; comma-separated)", n)
			return
		}
	}
}
