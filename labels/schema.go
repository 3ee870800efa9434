package labels

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/traefik/paerser/parser"
)

// Schema is the Markdown reference of every label, generated from the Go
// types (keys, types, `default` and `description` tags) with Sample as the
// example. LABELS.md at the repository root is its output.
func Schema() string {
	var b bytes.Buffer
	_ = WriteSchema(&b) // a bytes.Buffer does not fail
	return b.String()
}

// WriteSchema writes Schema to w.
func WriteSchema(w io.Writer) error {
	var b strings.Builder
	b.WriteString(schemaIntro)

	// Each struct reached through a map is a section of its own.
	type section struct {
		title, prefix string
		t             reflect.Type
	}
	queue := []section{{"Controller", Root, controllerType}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		fmt.Fprintf(&b, "\n## %s\n\n", s.title)
		if note := sectionNotes[s.title]; note != "" {
			b.WriteString(note + "\n\n")
		}
		b.WriteString("| Label | Type | Default | Description |\n|---|---|---|---|\n")
		var walk func(prefix string, t reflect.Type)
		walk = func(prefix string, t reflect.Type) {
			for i := range t.NumField() {
				f := t.Field(i)
				if !f.IsExported() || f.Tag.Get(parser.TagLabel) == "-" {
					continue
				}
				key := prefix + "." + fieldKey(f)
				ft := deref(f.Type)
				switch {
				case ft.Kind() == reflect.Struct && ft != durationType:
					walk(key, ft)
					continue
				case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.String:
					key += ".<KEY>"
					ft = ft.Elem()
				case ft.Kind() == reflect.Map:
					elem := deref(ft.Elem())
					key += ".<" + strings.TrimSuffix(fieldKey(f), "s") + ">"
					row(&b, key+".*", "[group](#"+strings.ToLower(elem.Name())+")", "", f.Tag.Get("description"))
					queue = append(queue, section{elem.Name(), key, elem})
					continue
				}
				row(&b, key, typeName(ft), f.Tag.Get("default"), f.Tag.Get("description"))
			}
		}
		walk(s.prefix, s.t)
		if extra := sectionExtras[s.title]; extra != nil {
			b.WriteString(extra())
		}
	}

	b.WriteString("\n## Example\n\nThe labels of a controller declaring two workloads, as in a compose file. " +
		"It is `labels.Sample()`, so it is guaranteed to decode and validate.\n\n```yaml\nlabels:\n")
	example := Encode(Sample())
	for _, k := range slices.Sorted(maps.Keys(example)) {
		fmt.Fprintf(&b, "  %s: %s\n", k, strconv.Quote(example[k]))
	}
	b.WriteString("```\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func row(b *strings.Builder, key, typ, def, desc string) {
	if def != "" {
		def = "`" + def + "`"
	}
	fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", key, typ, cell(def), cell(desc))
}

// cell keeps text from breaking a Markdown table row.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// typeName names a leaf type for users.
func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t == reflect.TypeOf(Args("")):
		return "command line"
	case t.Kind() == reflect.Bool:
		return "bool"
	case t.Kind() == reflect.String:
		return "string"
	default:
		return typeWord(t)
	}
}

const schemaIntro = `# tinyforge labels

<!-- Generated from the Go types of package labels by ` + "`tinyforge labels schema`" + `: do not edit.
     Regenerate with: go run ./cmd/tinyforge labels schema > LABELS.md -->

tinyforge is configured only through labels on *controller* containers, the
way Traefik is: ` + "`tinyforge.enable=true`" + ` marks a controller, and its
` + "`tinyforge.*`" + ` labels declare workloads and settings.

- The root ` + "`tinyforge.`" + ` is lowercase; every key after it is
  case-insensitive (` + "`maxInstances`" + ` = ` + "`maxinstances`" + `), so two keys
  that differ only in case are an error. Names in angle brackets are yours.
- Durations are written ` + "`90s`" + `, ` + "`5m`" + `, ` + "`1h30m`" + `, or a bare number of seconds.
- Every problem is reported at once, naming the full label key and the bad
  value; an unknown key is an error, with a "did you mean" suggestion when
  one is close. A workload with a problem is not deployed; the others are.
- A volume that validates but cannot be resolved at deploy time (a source
  outside the allowed paths, no base volume path) is reported and skipped:
  it does not block the deploy.
- The security policy (allowed volume paths, allowed image prefixes) is a
  sidecar flag, never a label, so a controller cannot widen it.
`

// sectionNotes introduce a section, by title.
var sectionNotes = map[string]string{
	"Controller": "Labels of the controller itself; `settings` apply to every workload.",
	"Workload":   "One deployable service, declared under a name that is a DNS label (lowercase letters, digits, `-`).",
	"Volume":     "A mount of the workload's container. `target` and `scope` are required; see the scopes below.",
	"Face":       "A public route to the workload. A face with neither `subdomain` nor `domain` is disabled.",
}

// sectionExtras follow a section's table, by title.
var sectionExtras = map[string]func() string{
	"Workload": func() string {
		return `
### Tag patterns

` + "`tags`" + ` decides which pushed tags may deploy; empty allows every tag. The pattern
always matches the whole tag:

- ` + "`v*`" + `, ` + "`stable, v1.*`" + `: comma-separated globs (` + "`*`" + `, ` + "`?`" + `, ` + "`[a-z]`" + `); any may match.
- ` + "`/v[0-9]+\\.[0-9]+\\.[0-9]+/`" + `: between slashes, a Go regular expression (RE2),
  anchored at both ends, so this admits ` + "`v1.2.3`" + ` but not ` + "`v1.2.3-rc1`" + `.

### Tag policies

` + "`policy`" + ` decides, after ` + "`tags`" + `, whether a delivered tag may replace the serving one.
A delivery it refuses is recorded as ignored, with the reason, and never deployed.

- ` + "`all`" + ` (the default): any tag, as pushed, older or not.
- ` + "`semver`" + `: any version newer than the serving one; ` + "`semver-minor`" + `: newer within the
  serving major; ` + "`semver-patch`" + `: newer within the serving major.minor.
- a semver range, e.g. ` + "`>=1.4 <2`" + `, ` + "`~1.4`" + `, ` + "`^2`" + `, ` + "`1.x`" + `: a newer version inside it.

A version is a full ` + "`MAJOR.MINOR.PATCH`" + ` tag, optionally ` + "`v`" + `-prefixed (` + "`v1.4.2`" + `,
` + "`1.5.0-rc.1`" + `); other tags (` + "`latest`" + `, ` + "`1.4`" + `) never deploy under a semver policy.
When no version serves (first deploy, or ` + "`latest`" + ` serves), any version the policy
allows may deploy. Pre-releases are skipped unless ` + "`prerelease=true`" + `, or the range
itself names one (` + "`>=1.5.0-rc.0`" + `).

### Health checks

` + "`healthcheck`" + ` is an HTTP path (` + "`/healthz`" + `, or ` + "`http`" + ` for ` + "`/`" + `) polled until it answers a
` + "`healthStatus`" + ` code, ` + "`tcp`" + ` (the health port accepts a connection) or ` + "`docker`" + `
(Docker reports the image's own HEALTHCHECK healthy). Probes go to ` + "`healthPort`" + `, else
` + "`port`" + `, every ` + "`healthInterval`" + `; ` + "`healthHost`" + ` sets their Host header. A new container
gets ` + "`healthStartPeriod`" + ` to boot, then ` + "`healthTimeout`" + ` to pass. An option the chosen
check does not use is an error.

### Release command

` + "`release.command`" + ` runs once per deploy in a one-off container of the new image, after
the pull and before the new container starts, on the workload's network with its env
(plus ` + "`release.env`" + `) and volumes. It must exit 0 within ` + "`release.timeout`" + `; otherwise
the deploy fails and the old version keeps serving. The one-off container is always removed.

### Approval and polling

With ` + "`approval=manual`" + `, an accepted delivery waits, durably, until
` + "`POST /v1/workloads/<name>/approve`" + ` deploys it or ` + "`reject`" + ` drops it; a newer delivery
replaces it, and ` + "`approvalTimeout`" + ` expires it. ` + "`poll`" + ` (at least 30s) asks the registry
for the digest of the tag to deploy (` + "`defaultTag`" + `, or under a semver policy the newest
allowed tag of the registry's tag list) and deploys when it changed, through the same
path as a webhook.

### Command and entrypoint

A value is either a JSON array of strings (exec form, as in a Dockerfile:
` + "`[\"sh\", \"-c\", \"echo a, b\"]`" + `), when it starts with ` + "`[`" + `, or shell-style
words: blanks separate words, single quotes keep text literally, double
quotes group words (with ` + "`\\\"`" + ` and ` + "`\\\\`" + ` escapes), a backslash escapes the
next character. Nothing is expanded (no ` + "`$VAR`" + `, ` + "`~`" + ` or globs). The JSON
array ` + "`[]`" + ` clears the image's entrypoint. Commas are ordinary characters.
`
	},
	"Volume": func() string {
		var b strings.Builder
		b.WriteString("\n### Volume scopes\n\n| Scope | Docker mount | Where the data lives |\n|---|---|---|\n")
		for _, s := range scopes {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.name, s.mount, cell(s.data))
		}
		b.WriteString("\n`name` defaults to the volume's key. `instance`, `stage` and `project` volumes need\n" +
			"`settings.baseVolumePath`; the volume key `instances` is reserved for their per-tag directories.\n" +
			"A workload declared by a controller signed with a scoped key (`--controller-key-file`) keeps them\n" +
			"in its scope's namespace instead: `<baseVolumePath>/_keyscopes/<scope>/<workload>/...` and Docker\n" +
			"volumes `tfk-<scope>.<workload>_<name>`.\n")
		return b.String()
	},
}
