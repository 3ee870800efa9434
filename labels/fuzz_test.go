package labels

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// encodeLabels writes a label map as the fuzzer's input: one "key\tvalue"
// per line.
func encodeLabels(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(k + "\t" + m[k] + "\n")
	}
	return b.String()
}

func decodeLabelLines(s string) map[string]string {
	m := make(map[string]string)
	for line := range strings.SplitSeq(s, "\n") {
		k, v, _ := strings.Cut(line, "\t")
		m[k] = v
	}
	return m
}

// FuzzWorkloads checks that no label set panics, that every problem names
// a tinyforge label, that only valid workloads come back, and that
// Workloads and Decode+Validate agree on a fully valid controller.
func FuzzWorkloads(f *testing.F) {
	for _, tt := range fieldCases {
		f.Add(encodeLabels(tt.labels))
	}
	for _, tt := range labelErrorCases {
		f.Add(encodeLabels(tt.labels))
	}
	f.Add(encodeLabels(Encode(Sample())))
	f.Add(encodeLabels(Encode(&Controller{Workloads: map[string]*Workload{"w": {Image: "r/w",
		Tags: "/v(/", Command: `sh -c "x`, Volumes: map[string]*Volume{"v": {Scope: "absolut"}}}}})))
	f.Add("tinyforge.a]\tx\n")
	f.Add("tinyforge.workloads.w.env.A\t1\ntinyforge.workloads.w.env.A.B\t2\n")

	f.Fuzz(func(t *testing.T, input string) {
		m := decodeLabelLines(input)

		ws, errs := Workloads(m)
		for _, err := range errs {
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("not an *Error: %v", err)
			}
			if !strings.Contains(err.Error(), "tinyforge.") {
				t.Fatalf("error does not name a tinyforge label: %q", err)
			}
		}
		for name, w := range ws {
			if w.Name != name {
				t.Fatalf("workload %q has Name %q", name, w.Name)
			}
			if err := w.Validate(); err != nil {
				t.Fatalf("invalid workload returned: %v", err)
			}
			// What validated is usable as is.
			for _, a := range []Args{w.Command, w.Entrypoint} {
				if _, err := a.Split(); err != nil {
					t.Fatalf("valid workload, bad args %q: %v", a, err)
				}
			}
			if _, err := tagMatcher(w.Tags); err != nil {
				t.Fatalf("valid workload, bad tags: %v", err)
			}
			if w.DefaultTag != "" && !w.AllowsTag(w.DefaultTag) {
				t.Fatalf("valid workload refuses its own defaultTag %q", w.DefaultTag)
			}
			if w.NanoCPUs() < 0 || w.MemoryBytes() < 0 {
				t.Fatalf("negative limits: %d, %d", w.NanoCPUs(), w.MemoryBytes())
			}
		}

		c, err := Decode(m)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				if !strings.Contains(e.Error(), "tinyforge.") {
					t.Fatalf("Decode error does not name a tinyforge label: %q", e)
				}
			}
		}
		if (err == nil) != (len(errs) == 0) {
			t.Fatalf("Decode+Validate says %v, Workloads says %q", err, errs)
		}
		if err == nil && !reflect.DeepEqual(c.Workloads, ws) {
			t.Fatalf("Decode gives %v, Workloads gives %v", c.Workloads, ws)
		}
		if err == nil {
			// Encode writes what Decode reads back (up to all-zero faces
			// and volumes, which Encode leaves out).
			enc := Encode(c)
			again, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode(Encode(c)) of a valid controller: %v", err)
			}
			if err := again.Validate(); err != nil {
				t.Fatalf("Encode made a valid controller invalid: %v", err)
			}
			if !reflect.DeepEqual(Encode(again), enc) {
				t.Fatalf("Encode is not stable:\n%q\n%q", enc, Encode(again))
			}
		}
	})
}
