package labels

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/traefik/paerser/parser"
)

// labelsMarkdown is the committed output of Schema.
const labelsMarkdown = "../LABELS.md"

// TestLabelsMarkdownUpToDate is the golden test of the schema reference.
// UPDATE_GOLDEN=1 rewrites LABELS.md.
func TestLabelsMarkdownUpToDate(t *testing.T) {
	got := Schema()
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(labelsMarkdown, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(labelsMarkdown)
	if err != nil {
		t.Fatalf("%v: run `go run ./cmd/tinyforge labels schema > LABELS.md` (or UPDATE_GOLDEN=1 go test ./labels/ -run TestLabelsMarkdownUpToDate)", err)
	}
	if string(want) != got {
		t.Fatalf("LABELS.md is out of date with the Go types (first difference at line %d): run `go run ./cmd/tinyforge labels schema > LABELS.md` (or UPDATE_GOLDEN=1 go test ./labels/ -run TestLabelsMarkdownUpToDate)",
			firstDiffLine(string(want), got))
	}
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// TestSchemaListsEveryLabel checks that every label the types accept, as
// locate finds them, has a row in the reference.
func TestSchemaListsEveryLabel(t *testing.T) {
	schema := Schema()
	for _, key := range schemaKeys(controllerType, Root) {
		if !strings.Contains(schema, "| `"+key+"` |") {
			t.Errorf("no row for %s", key)
		}
	}
}

// schemaKeys lists the documented key of every leaf, with <name>
// placeholders for map keys.
func schemaKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get(parser.TagLabel) == "-" {
			continue
		}
		key := prefix + "." + fieldKey(f)
		ft := deref(f.Type)
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType:
			keys = append(keys, schemaKeys(ft, key)...)
		case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.String:
			keys = append(keys, key+".<KEY>")
		case ft.Kind() == reflect.Map:
			keys = append(keys, schemaKeys(deref(ft.Elem()), key+".<"+strings.TrimSuffix(fieldKey(f), "s")+">")...)
		default:
			keys = append(keys, key)
		}
	}
	return keys
}

func TestSampleRoundTrip(t *testing.T) {
	labels := Encode(Sample())
	c, err := Decode(labels)
	if err != nil {
		t.Fatalf("Decode(Encode(Sample())): %v", err)
	}
	if !reflect.DeepEqual(c, Sample()) {
		t.Fatalf("round trip changed the sample:\n got %#v\nwant %#v", c, Sample())
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Sample does not validate: %v", err)
	}
	parsed, errs := Parse(labels)
	if len(errs) > 0 || !reflect.DeepEqual(parsed, Sample()) {
		t.Fatalf("Parse: %v\n got %#v", errs, parsed)
	}
}

// TestSampleSetsEveryLabel keeps Sample complete: each documented label is
// set by at least one workload, face or volume, and every scope is used.
func TestSampleSetsEveryLabel(t *testing.T) {
	set := make(map[string]bool)
	for key := range Encode(Sample()) {
		segs := strings.Split(key, ".")
		// Replace map keys by their placeholders, as the schema writes them.
		for i := 1; i+1 < len(segs); i++ {
			switch segs[i] {
			case "workloads", "faces", "volumes":
				segs[i+1] = "<" + strings.TrimSuffix(segs[i], "s") + ">"
			case "env":
				segs = append(segs[:i+1], "<KEY>")
			}
		}
		set[strings.Join(segs, ".")] = true
	}
	for _, key := range schemaKeys(controllerType, Root) {
		if !set[key] {
			t.Errorf("Sample sets no %s", key)
		}
	}
	var used []string
	for _, w := range Sample().Workloads {
		for _, v := range w.Volumes {
			used = append(used, v.Scope)
		}
	}
	for _, s := range Scopes() {
		if !slices.Contains(used, s) {
			t.Errorf("Sample has no %s volume", s)
		}
	}
}

// TestSchemaDefaults keeps the documented defaults equal to the code's.
func TestSchemaDefaults(t *testing.T) {
	def := func(t reflect.Type, field string) string {
		f, _ := t.FieldByName(field)
		return f.Tag.Get("default")
	}
	wt := reflect.TypeOf(Workload{})
	if d, err := time.ParseDuration(def(wt, "HealthTimeout")); err != nil || d != DefaultHealthTimeout || (&Workload{}).HealthWait() != d {
		t.Errorf("healthTimeout default %q, code %s", def(wt, "HealthTimeout"), DefaultHealthTimeout)
	}
	if d, err := time.ParseDuration(def(wt, "HealthInterval")); err != nil || d != DefaultHealthInterval || (&Workload{}).ProbeInterval() != d {
		t.Errorf("healthInterval default %q, code %s", def(wt, "HealthInterval"), DefaultHealthInterval)
	}
	if def(wt, "HealthStatus") != DefaultHealthStatus || !(&Workload{}).HealthyStatus(200) || (&Workload{}).HealthyStatus(300) {
		t.Errorf("healthStatus default %q, code %q", def(wt, "HealthStatus"), DefaultHealthStatus)
	}
	if (&Workload{Port: 80}).ProbePort() != 80 || def(wt, "HealthPort") != "port" {
		t.Error("healthPort default")
	}
	if d, err := time.ParseDuration(def(reflect.TypeOf(Release{}), "Timeout")); err != nil || d != DefaultReleaseTimeout || (&Workload{}).ReleaseWait() != d {
		t.Errorf("release.timeout default %q, code %s", def(reflect.TypeOf(Release{}), "Timeout"), DefaultReleaseTimeout)
	}
	if p, err := (&Workload{}).TagPolicy(); err != nil || def(wt, "Policy") != DefaultPolicy || p.String() != DefaultPolicy {
		t.Errorf("policy default %q, code %q", def(wt, "Policy"), p)
	}
	if def(wt, "Approval") != ApprovalAuto || (&Workload{}).ManualApproval() {
		t.Errorf("approval default %q", def(wt, "Approval"))
	}
	if def(wt, "DefaultTag") != DefaultTag || (&Workload{}).ResolveTag("") != DefaultTag {
		t.Errorf("defaultTag default %q, code %q", def(wt, "DefaultTag"), DefaultTag)
	}
	if (&Volume{}).EffectiveName("data") != "data" || !strings.Contains(def(reflect.TypeOf(Volume{}), "Name"), "key") {
		t.Error("volume name default")
	}
	if (&Face{}).Port(&Workload{Port: 80}) != 80 || def(reflect.TypeOf(Face{}), "TargetPort") != "port" {
		t.Error("targetPort default")
	}
}

func TestSchemaScopesListed(t *testing.T) {
	schema := Schema()
	for _, s := range Scopes() {
		if !strings.Contains(schema, "| `"+s+"` |") {
			t.Errorf("scope %s is not in the reference", s)
		}
	}
	if len(Scopes()) != 7 {
		t.Errorf("want the seven scopes of the original design, got %q", Scopes())
	}
}

func TestParseSettings(t *testing.T) {
	m := web("tinyforge.settings.network", "edge", "tinyforge.settings.domain", "example.org",
		"tinyforge.settings.baseVolumePath", "/srv/tf")
	c, errs := Parse(m)
	if len(errs) > 0 || c.Settings != (Settings{Network: "edge", Domain: "example.org", BaseVolumePath: "/srv/tf"}) || !c.Enable || c.Workloads["web"] == nil {
		t.Fatalf("Parse = %#v, %v", c, errs)
	}

	// Bad settings are reported and dropped; the workloads still come back.
	c, errs = Parse(web("tinyforge.settings.network", "edge", "tinyforge.settings.baseVolumePath", "rel"))
	if len(errs) != 1 || c.Settings != (Settings{}) || c.Workloads["web"] == nil {
		t.Fatalf("Parse = %#v, %v", c, errs)
	}
}

func TestLimits(t *testing.T) {
	w := &Workload{CPULimit: 1.5, MemoryLimit: 512}
	if w.NanoCPUs() != 1_500_000_000 || w.MemoryBytes() != 512<<20 {
		t.Fatalf("NanoCPUs %d, MemoryBytes %d", w.NanoCPUs(), w.MemoryBytes())
	}
	w = &Workload{CPULimit: 0.01, MemoryLimit: MaxMemoryLimit}
	if w.NanoCPUs() != 10_000_000 || w.MemoryBytes() != 1<<44 {
		t.Fatalf("NanoCPUs %d, MemoryBytes %d", w.NanoCPUs(), w.MemoryBytes())
	}
	if (&Workload{}).NanoCPUs() != 0 || (&Workload{}).MemoryBytes() != 0 {
		t.Fatal("zero limits must stay unlimited")
	}
}
