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
// same across deploys, so a switch replaces the route in place, and
// different for every other (workload, face) pair, so no workload's route
// can replace another's. It is "tf_" + escaped workload + "__" + escaped
// face: escapeID keeps a-z, 0-9 and '-' and writes every other byte as
// '_' and two hex digits, so an escaped part never holds "__" nor ends in
// '_', and the first "__" always separates the parts. The result uses only
// a-z, 0-9, '-' and '_', which every proxy keeps as is in its ids (Caddy
// @id, Traefik router names and label keys, NPM meta), and starts with
// "tf_" where ids of earlier versions (LegacyRouteID) start with "tf-".
// For a DNS-label workload and a lowercase face it reads tf_web__api.
func RouteID(workload, face string) string {
	return "tf_" + escapeID(workload) + "__" + escapeID(face)
}

// LegacyRouteID is the id earlier versions gave the route of (workload,
// face): both parts sanitised and joined with '-'. It is not injective
// (web + x-y and web-x + y both give tf-web-x-y) and is kept only so that
// routes recorded under it can be recognised and moved to RouteID.
func LegacyRouteID(workload, face string) string {
	return "tf-" + sanitise(workload) + "-" + sanitise(face)
}

// IsLegacyRouteID tells whether r is recorded under an id other than its
// RouteID, i.e. one an earlier version gave it: it must be migrated.
func IsLegacyRouteID(r Route) bool {
	return r.Workload != "" && r.ID != RouteID(r.Workload, r.Face)
}

// escapeID writes s in a-z, 0-9 and '-', every other byte as "_xx"
// (lowercase hex). It is injective and its output never contains "__".
func escapeID(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
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
