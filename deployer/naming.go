package deployer

import (
	"strconv"
	"strings"
	"time"
)

// ContainerName is the unique name of a new container of workload w
// running tag: a tf- prefix, the sanitised workload and tag, and a
// millisecond timestamp, so blue and green can run side by side and the
// name alone tells what runs there.
func ContainerName(workload, tag string, at time.Time) string {
	return "tf-" + sanitise(workload) + "-" + sanitise(tag) + "-" + strconv.FormatInt(at.UnixMilli(), 10)
}

// RouteID is the stable id of the route of one face of a workload: the
// same across deploys, so a switch replaces the route in place.
func RouteID(workload, face string) string {
	return "tf-" + sanitise(workload) + "-" + sanitise(face)
}

// sanitise keeps characters Docker names and proxy ids accept and turns
// every other run of characters into one dash.
func sanitise(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		return "x"
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
