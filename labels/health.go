package labels

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// HealthKind is what a workload's healthcheck label asks a new container
// to pass before it takes traffic.
type HealthKind string

// The health check kinds.
const (
	// HealthNone: no check; traffic switches once the container runs.
	HealthNone HealthKind = ""
	// HealthHTTP polls an HTTP path until it answers a healthStatus code.
	HealthHTTP HealthKind = "http"
	// HealthTCP waits until the health port accepts a connection.
	HealthTCP HealthKind = "tcp"
	// HealthDocker waits until Docker reports the image's own HEALTHCHECK
	// healthy.
	HealthDocker HealthKind = "docker"
)

// Health check bounds accepted by validation.
const (
	// MinHealthInterval keeps probes from hammering a booting app.
	MinHealthInterval = 100 * time.Millisecond
)

// HealthKind is the kind of the workload's health check: a path or the
// word http is HTTP, tcp and docker are themselves.
func (w *Workload) HealthKind() HealthKind {
	switch hc := w.Healthcheck; {
	case hc == "":
		return HealthNone
	case strings.HasPrefix(hc, "/"), hc == string(HealthHTTP):
		return HealthHTTP
	default:
		return HealthKind(hc)
	}
}

// HealthPath is the path HTTP health probes GET: the healthcheck path, or
// / for healthcheck http; "" for the other kinds.
func (w *Workload) HealthPath() string {
	switch {
	case w.HealthKind() != HealthHTTP:
		return ""
	case w.Healthcheck == string(HealthHTTP):
		return "/"
	default:
		return w.Healthcheck
	}
}

// ProbePort is the container port HTTP and TCP health probes reach:
// healthPort, else the workload's port.
func (w *Workload) ProbePort() int {
	if w.HealthPort != 0 {
		return w.HealthPort
	}
	return w.Port
}

// ProbeInterval is the time between two health probes of a new container.
func (w *Workload) ProbeInterval() time.Duration {
	if w.HealthInterval > 0 {
		return time.Duration(w.HealthInterval)
	}
	return DefaultHealthInterval
}

// StartPeriod is how long a new container may boot before HealthWait
// starts counting; failed probes in it do not count.
func (w *Workload) StartPeriod() time.Duration { return time.Duration(w.HealthStartPeriod) }

// HealthyStatus reports whether an HTTP health probe answering code
// passes: a code of healthStatus, 2xx by default. An invalid healthStatus
// passes nothing (Validate reports it), so a typo never passes a probe.
func (w *Workload) HealthyStatus(code int) bool {
	ranges, err := parseStatus(w.HealthStatus)
	if err != nil {
		return false
	}
	for _, r := range ranges {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

// parseStatus parses a healthStatus label: comma-separated codes (204)
// and ranges (200-399) of HTTP status codes 100-599; "" is 200-299.
func parseStatus(s string) ([][2]int, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultHealthStatus
	}
	var out [][2]int
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		if !isRange {
			hi = lo
		}
		a, errA := statusCode(lo)
		b, errB := statusCode(hi)
		switch {
		case item == "":
			return nil, fmt.Errorf("%q has an empty item: write codes and ranges separated by single commas, e.g. 200-299,304", s)
		case errA != nil || errB != nil:
			return nil, fmt.Errorf("%q: %q is not an HTTP status code or a range of them (100-599, e.g. 200 or 200-399)", s, item)
		case a > b:
			return nil, fmt.Errorf("%q: the range %q runs backwards: write the lower code first", s, item)
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

func statusCode(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("not a status code: %q", s)
	}
	return n, nil
}

// healthProblems checks the health labels: the kind, and that each option
// is valid and used by that kind (an option the check ignores is a
// mistake worth reporting).
func (w *Workload) healthProblems(prefix string, bad func(key, value, format string, args ...any)) {
	kind := w.HealthKind()
	switch hc := w.Healthcheck; {
	case kind == HealthHTTP && hc != string(HealthHTTP) && strings.ContainsFunc(hc, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		bad(prefix+".healthcheck", hc, "%q must be a URL path starting with / and without spaces, e.g. /healthz", hc)
	case kind != HealthNone && kind != HealthHTTP && kind != HealthTCP && kind != HealthDocker:
		hint := ""
		if !hasBlank(hc) {
			hint = fmt.Sprintf(": did you mean %q?", "/"+hc)
		}
		bad(prefix+".healthcheck", hc, "%q is not a health check%s (use a URL path starting with /, http, tcp or docker)", hc, hint)
	}
	probes := kind == HealthHTTP || kind == HealthTCP

	if w.HealthTimeout < 0 {
		bad(prefix+".healthTimeout", w.HealthTimeout.String(), "%s is negative", w.HealthTimeout)
	}
	switch iv := time.Duration(w.HealthInterval); {
	case iv < 0:
		bad(prefix+".healthInterval", iv.String(), "%s is negative", iv)
	case iv == 0:
	case kind == HealthNone:
		bad(prefix+".healthInterval", iv.String(), "has no effect without a healthcheck: set healthcheck or remove healthInterval")
	case iv < MinHealthInterval:
		bad(prefix+".healthInterval", iv.String(), "%s is below the minimum of %s", iv, MinHealthInterval)
	case iv > w.HealthWait():
		bad(prefix+".healthInterval", iv.String(), "%s is longer than healthTimeout %s: the check could probe only once", iv, w.HealthWait())
	}
	switch sp := time.Duration(w.HealthStartPeriod); {
	case sp < 0:
		bad(prefix+".healthStartPeriod", sp.String(), "%s is negative", sp)
	case sp > 0 && kind == HealthNone:
		bad(prefix+".healthStartPeriod", sp.String(), "has no effect without a healthcheck: set healthcheck or remove healthStartPeriod")
	}
	if w.HealthStatus != "" {
		if _, err := parseStatus(w.HealthStatus); err != nil {
			bad(prefix+".healthStatus", w.HealthStatus, "%s", err)
		} else if kind != HealthHTTP {
			bad(prefix+".healthStatus", w.HealthStatus, "applies only to an HTTP healthcheck (a path or http), not to %s", kindWord(kind))
		}
	}
	if h := w.HealthHost; h != "" {
		if !validHostHeader(h) {
			bad(prefix+".healthHost", h, "%q is not a host name, optionally with a port (app.example.com, app.example.com:8443)", h)
		} else if kind != HealthHTTP {
			bad(prefix+".healthHost", h, "applies only to an HTTP healthcheck (a path or http), not to %s", kindWord(kind))
		}
	}
	switch p := w.HealthPort; {
	case p == 0:
	case p < 0 || p > 65535:
		bad(prefix+".healthPort", strconv.Itoa(p), "%d is out of range (1-65535; unset means the workload port)", p)
	case !probes:
		bad(prefix+".healthPort", strconv.Itoa(p), "applies only to an HTTP or TCP healthcheck, not to %s", kindWord(kind))
	}
}

// kindWord names a health kind in messages.
func kindWord(k HealthKind) string {
	if k == HealthNone {
		return "a workload without one"
	}
	return "healthcheck " + string(k)
}

// validHostHeader accepts a host name or IPv4 address, with an optional port.
func validHostHeader(h string) bool {
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		host, port = h, ""
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	return isHostname(host)
}
