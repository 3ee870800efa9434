package labelscli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// writeText prints the report for people: problems of the sources, then
// one block per controller (its errors, settings and workloads), then
// conflicts, warnings and a one-line verdict. Every error line starts with
// "error: " and names its file:line or container, so it reads alone in a
// CI log.
func writeText(w io.Writer, r *Report, domain string) error {
	var b strings.Builder
	for _, p := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", p.Message)
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n")
	}
	for _, c := range r.Controllers {
		writeController(&b, c, domain)
		b.WriteString("\n")
	}
	for _, c := range r.Conflicts {
		fmt.Fprintf(&b, "error: %s\n", c.Message)
	}
	for _, p := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", p.Message)
	}
	if len(r.Conflicts)+len(r.Warnings) > 0 {
		b.WriteString("\n")
	}

	ctrls := plural(len(r.Controllers), "controller", "controllers")
	switch n := r.ErrorCount(); {
	case r.Unreadable:
		fmt.Fprintf(&b, "FAIL: could not check everything: %s; %s, %s\n",
			plural(n, "error", "errors"), ctrls, plural(r.Workloads(), "valid workload", "valid workloads"))
	case n > 0:
		fmt.Fprintf(&b, "FAIL: %s; %s, %s\n",
			plural(n, "error", "errors"), ctrls, plural(r.Workloads(), "valid workload", "valid workloads"))
	default:
		fmt.Fprintf(&b, "ok: %s, %s\n", ctrls, plural(r.Workloads(), "workload", "workloads"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeController(b *strings.Builder, c ControllerReport, domain string) {
	fmt.Fprintf(b, "%s: %s", c.Source, plural(len(c.Workloads), "valid workload", "valid workloads"))
	if len(c.Errors) > 0 {
		fmt.Fprintf(b, ", %s", plural(len(c.Errors), "error", "errors"))
	}
	b.WriteString("\n")
	for _, p := range c.Errors {
		fmt.Fprintf(b, "  error: %s: %s\n", position(p), p.Message)
	}

	s := c.Settings
	var set []string
	if s.Network != "" {
		set = append(set, "network "+s.Network)
	} else {
		set = append(set, "network from the sidecar's --network")
	}
	if s.Domain != "" {
		set = append(set, "domain "+s.Domain)
	} else {
		set = append(set, "domain "+domain+" (--domain)")
	}
	if s.BaseVolumePath != "" {
		set = append(set, "baseVolumePath "+s.BaseVolumePath)
	} else {
		set = append(set, "no baseVolumePath")
	}
	fmt.Fprintf(b, "  settings: %s\n", strings.Join(set, ", "))

	for _, wl := range c.Workloads {
		b.WriteString("\n")
		writeWorkload(b, wl)
	}
}

// position is where a problem is: file:line in a compose file, else its
// source (a container).
func position(p Problem) string {
	switch {
	case p.File != "" && p.Line > 0:
		return p.File + ":" + strconv.Itoa(p.Line)
	case p.File != "":
		return p.File
	default:
		return p.Source
	}
}

func writeWorkload(b *strings.Builder, w WorkloadView) {
	fmt.Fprintf(b, "  workload %s\n", w.Name)
	field := func(name, format string, args ...any) {
		fmt.Fprintf(b, "    %-11s %s\n", name, fmt.Sprintf(format, args...))
	}
	image := w.Image
	if w.Registry != "" {
		image += " (credentials " + w.Registry + ")"
	}
	field("image", "%s", image)
	tags := "any tag"
	if w.Tags != "" {
		tags = w.Tags
	}
	field("tags", "%s; default %s", tags, w.DefaultTag)
	if w.Port != 0 {
		field("port", "%d", w.Port)
	} else {
		field("port", "none")
	}
	switch w.Healthcheck {
	case "":
		field("health", "none")
	case "tcp":
		field("health", "TCP connect, timeout %s", shortDuration(w.HealthTimeout))
	case "docker":
		field("health", "the image's HEALTHCHECK, timeout %s", shortDuration(w.HealthTimeout))
	case "http":
		field("health", "GET /, timeout %s", shortDuration(w.HealthTimeout))
	default:
		field("health", "GET %s, timeout %s", w.Healthcheck, shortDuration(w.HealthTimeout))
	}
	if w.Instances > 1 {
		field("instances", "keeps %d", w.Instances)
	} else {
		field("instances", "1 (strict blue-green)")
	}
	limits := []string{}
	if w.CPULimit != 0 {
		limits = append(limits, "cpu "+strconv.FormatFloat(w.CPULimit, 'g', -1, 64)+" cores")
	}
	if w.MemoryLimitMB != 0 {
		limits = append(limits, "memory "+strconv.Itoa(w.MemoryLimitMB)+" MB")
	}
	if len(limits) == 0 {
		limits = append(limits, "none")
	}
	field("limits", "%s", strings.Join(limits, ", "))
	if w.Command != nil {
		field("command", "%s", words(w.Command))
	}
	switch {
	case w.Entrypoint == nil:
	case len(w.Entrypoint) == 0:
		field("entrypoint", "[] (clears the image's)")
	default:
		field("entrypoint", "%s", words(w.Entrypoint))
	}
	if len(w.EnvKeys) > 0 {
		field("env", "%s", strings.Join(w.EnvKeys, ", "))
	} else {
		field("env", "none")
	}

	if len(w.Volumes) == 0 {
		field("volumes", "none")
	}
	width := 0
	for _, v := range w.Volumes {
		width = max(width, len(v.Key))
	}
	for i, v := range w.Volumes {
		from := v.Scope
		switch {
		case v.Source != "":
			from += " " + v.Source
		case v.Name != "":
			from += " volume " + v.Name
		}
		if v.ReadOnly {
			from += ", read-only"
		}
		field(first(i, "volumes"), "%-*s  %s <- %s", width, v.Key, v.Target, from)
	}

	if len(w.Faces) == 0 {
		field("faces", "none")
	}
	width = 0
	for _, f := range w.Faces {
		width = max(width, len(f.Name))
	}
	for i, f := range w.Faces {
		if !f.Enabled {
			field(first(i, "faces"), "%-*s  disabled (no subdomain or domain)", width, f.Name)
			continue
		}
		line := fmt.Sprintf("%s -> port %d", f.URL, f.Port)
		if f.AccessList != "" {
			line += ", access list " + f.AccessList
		}
		if f.NoDNS {
			line += ", no DNS record (dns=false)"
		}
		field(first(i, "faces"), "%-*s  %s", width, f.Name, line)
	}
}

// first names a multi-line field on its first line only.
func first(i int, name string) string {
	if i == 0 {
		return name
	}
	return ""
}

// words prints a command line as a JSON array, so every word's bounds show.
func words(ws []string) string {
	quoted := make([]string, len(ws))
	for i, w := range ws {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(w) // a string always encodes
		quoted[i] = strings.TrimSuffix(b.String(), "\n")
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// shortDuration prints 1m0s as 1m and 1h0m0s as 1h.
func shortDuration(s string) string {
	if _, err := time.ParseDuration(s); err != nil {
		return s
	}
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
