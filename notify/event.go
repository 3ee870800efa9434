package notify

import (
	"fmt"
	"strings"
	"time"
)

// Kind is what happened to a workload. Duplicates and no-op deliveries
// have no kind: they never make a message.
type Kind string

// The kinds of event that make a message.
const (
	Succeeded  Kind = "succeeded"   // a deploy serves: tag, digest, time to serve
	Failed     Kind = "failed"      // a deploy stopped: the step and the error
	RolledBack Kind = "rolled_back" // routes went back to the previous version: why
	Orphaned   Kind = "orphaned"    // containers no controller declares any more
	Conflict   Kind = "conflict"    // two controllers declare the same workload
	Invalid    Kind = "invalid"     // a controller's labels do not parse
)

// state reports whether k describes a lasting condition found by each
// reconcile pass (rather than a one-off deploy outcome), so a repeat of it
// is not news.
func (k Kind) state() bool { return k == Orphaned || k == Conflict || k == Invalid }

// Event is one thing worth a message.
type Event struct {
	Kind     Kind
	Workload string
	// Targets are the workload's targets (its tinyforge.workloads.<w>.notify
	// label); empty means the default targets.
	Targets []string

	Tag         string        // succeeded, failed, rolled back: the tag deployed
	Digest      string        // succeeded: the digest now serving
	TimeToServe time.Duration // succeeded: from the request to serving
	Step        string        // failed: the step that failed
	Reason      string        // failed: the error; rolled back: why; others: detail
	At          time.Time     // when it happened (zero: when Notify was called)
}

// Title is the one-line headline of e.
func (e Event) Title() string {
	switch e.Kind {
	case Succeeded:
		return fmt.Sprintf("%s: deployed %s", e.Workload, orDash(e.Tag))
	case Failed:
		return fmt.Sprintf("%s: deploy of %s failed", e.Workload, orDash(e.Tag))
	case RolledBack:
		return fmt.Sprintf("%s: %s rolled back", e.Workload, orDash(e.Tag))
	case Orphaned:
		return fmt.Sprintf("%s: orphaned", e.Workload)
	case Conflict:
		return fmt.Sprintf("%s: conflicting declarations", e.Workload)
	case Invalid:
		return fmt.Sprintf("%s: invalid labels", e.Workload)
	}
	return fmt.Sprintf("%s: %s", e.Workload, e.Kind)
}

// Text is the headline and the details of e, on one line.
func (e Event) Text() string {
	var b strings.Builder
	b.WriteString(e.Title())
	switch e.Kind {
	case Succeeded:
		if e.Digest != "" {
			fmt.Fprintf(&b, " (%s)", e.Digest)
		}
		if e.TimeToServe > 0 {
			fmt.Fprintf(&b, ", serving %s after the request", e.TimeToServe.Round(100*time.Millisecond))
		}
	case Failed:
		if e.Step != "" {
			fmt.Fprintf(&b, " at step %s", e.Step)
		}
		if e.Reason != "" {
			fmt.Fprintf(&b, ": %s", e.Reason)
		}
	default:
		if e.Reason != "" {
			fmt.Fprintf(&b, ": %s", e.Reason)
		}
	}
	return b.String()
}

// maxListed bounds the events one summary lists; the rest are counted.
const maxListed = 20

// message is the title and body of one message about events: the event
// itself when alone, else a summary listing them, oldest first.
func message(events []Event) (title, body string) {
	if len(events) == 1 {
		return "tinyforge: " + events[0].Title(), events[0].Text()
	}
	var b strings.Builder
	for i, e := range events {
		if i == maxListed {
			fmt.Fprintf(&b, "… and %d more", len(events)-maxListed)
			break
		}
		fmt.Fprintf(&b, "%s %s\n", e.At.UTC().Format("15:04:05"), e.Text())
	}
	return fmt.Sprintf("tinyforge: %d events (%s)", len(events), workloads(events)),
		strings.TrimSuffix(b.String(), "\n")
}

// workloads lists the distinct workloads of events, in order of first
// appearance.
func workloads(events []Event) string {
	var names []string
	seen := map[string]bool{}
	for _, e := range events {
		if !seen[e.Workload] {
			seen[e.Workload] = true
			names = append(names, e.Workload)
		}
	}
	return strings.Join(names, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
