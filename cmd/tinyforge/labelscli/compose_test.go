package labelscli

import (
	"maps"
	"reflect"
	"strings"
	"testing"
)

func TestParseCompose(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		labels   map[string]map[string]string // service → labels
		problems []string                     // substrings of Service.Problems, in order
		err      string                       // substring of the error; "" for none
	}{
		{
			name:   "map form, unquoted scalars as written",
			yaml:   "services:\n  c:\n    labels:\n      a: true\n      b: 8080\n      c: 0.50\n      d:\n      e: ''\n",
			labels: map[string]map[string]string{"c": {"a": "true", "b": "8080", "c": "0.50", "d": "", "e": ""}},
		},
		{
			name:   "list form: first = splits, a bare key is empty",
			yaml:   "services:\n  c:\n    labels:\n      - a=b=c\n      - \"k=v\"\n      - bare\n",
			labels: map[string]map[string]string{"c": {"a": "b=c", "k": "v", "bare": ""}},
		},
		{
			name: "anchors, aliases and merge keys; own keys win",
			yaml: "x-a: &a {k: from-a, only-a: '1'}\nx-b: &b {k: from-b, only-b: '2'}\nx-svc: &svc\n  labels: *a\n" +
				"services:\n  merged:\n    labels:\n      <<: [*a, *b]\n      own: x\n  mine:\n    labels:\n      <<: *a\n      k: mine\n  whole:\n    <<: *svc\n",
			labels: map[string]map[string]string{
				"merged": {"k": "from-a", "only-a": "1", "only-b": "2", "own": "x"},
				"mine":   {"k": "mine", "only-a": "1"},
				"whole":  {"k": "from-a", "only-a": "1"},
			},
		},
		{
			name:   "services without labels, null service, empty labels",
			yaml:   "services:\n  a:\n    image: x\n  b:\n  c:\n    labels:\n",
			labels: map[string]map[string]string{"a": {}, "b": {}, "c": {}},
		},
		{
			name:     "a key set twice, a value that is not a string",
			yaml:     "services:\n  c:\n    labels:\n      - k=1\n      - k=2\n      - {x: y}\n",
			labels:   map[string]map[string]string{"c": {"k": "1"}},
			problems: []string{"label k is set twice (lines 4 and 5)", "must be a string key=value, not a map"},
		},
		{
			name:     "map value that is a list",
			yaml:     "services:\n  c:\n    labels:\n      k: [1, 2]\n",
			labels:   map[string]map[string]string{"c": {}},
			problems: []string{"label k: the value must be a string, not a list"},
		},
		{name: "empty file", yaml: "", labels: map[string]map[string]string{}},
		{name: "no services", yaml: "volumes: {}\n", labels: map[string]map[string]string{}},
		{name: "not YAML", yaml: "services: [\n", err: "f.yml: not valid YAML"},
		{name: "top level a list", yaml: "- a\n", err: "the top level must be a map, not a list"},
		{name: "services a list", yaml: "services: [a]\n", err: "f.yml:1: services must be a map, not a list"},
		{name: "labels a string", yaml: "services:\n  c:\n    labels: k=v\n", err: `f.yml:2: service c: labels must be a map or a list, not "k=v"`},
		{name: "service twice", yaml: "services:\n  c: {}\n  c: {}\n", err: "f.yml:3: service c is declared a second time"},
		{name: "labels twice", yaml: "services:\n  c:\n    labels: {}\n    labels: {}\n", err: `"labels" is set a second time`},
		{name: "merge of a scalar", yaml: "services:\n  c:\n    labels:\n      <<: x\n", err: "merge key (<<) whose value must be a map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			services, err := ParseCompose("f.yml", []byte(tt.yaml))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]string{}
			var problems []string
			for _, s := range services {
				got[s.Name] = s.Labels
				for _, p := range s.Problems {
					problems = append(problems, p.Message)
				}
			}
			if !maps.EqualFunc(got, tt.labels, func(a, b map[string]string) bool { return reflect.DeepEqual(a, b) }) {
				t.Errorf("labels = %v, want %v", got, tt.labels)
			}
			if len(problems) != len(tt.problems) {
				t.Fatalf("problems = %q, want %d", problems, len(tt.problems))
			}
			for i, p := range problems {
				if !strings.Contains(p, tt.problems[i]) {
					t.Errorf("problem %d = %q, want %q", i, p, tt.problems[i])
				}
			}
		})
	}
}

func TestParseComposeLines(t *testing.T) {
	services, err := ParseCompose("f.yml", []byte("services:\n  c:\n    labels:\n      a: x\n\n      b: y\n  d:\n    labels: [\"k=v\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c := services[0]; c.Line != 2 || c.Lines["a"] != 4 || c.Lines["b"] != 6 {
		t.Errorf("service c at line %d, labels at %v; want 2, a:4 b:6", c.Line, c.Lines)
	}
	if d := services[1]; d.Line != 7 || d.Lines["k"] != 8 {
		t.Errorf("service d at line %d, labels at %v; want 7, k:8", d.Line, d.Lines)
	}
}
