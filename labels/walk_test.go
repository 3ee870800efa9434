package labels

import (
	"reflect"
	"strings"
	"testing"

	"github.com/traefik/paerser/parser"
)

// sample exercises the kinds the controller types do not use yet (lists),
// so the next schema extension finds locate ready.
type sample struct {
	Volumes []struct{ Target string }
	Ports   []int
	Hidden  string `label:"-"`
	Env     map[string]string
}

func TestLocate(t *testing.T) {
	tests := []struct {
		key  string
		want reflect.Type // nil: an error is expected
		at   int
		// stricter: paerser accepts the label and drops or mangles it.
		stricter bool
	}{
		{key: "volumes[0].target", want: reflect.TypeOf("")},
		{key: "VOLUMES[1].Target", want: reflect.TypeOf("")},
		{key: "ports", want: reflect.TypeOf([]int{})},
		{key: "env.A.B.C", want: reflect.TypeOf("")},
		{key: "volumes", at: 0, stricter: true},
		{key: "volumes[0]", at: 0, stricter: true},
		{key: "volumes[0].target.x", at: 1},
		{key: "volumes[0].source", at: 1},
		{key: "env[0]", at: 0, stricter: true},
		{key: "env", at: 0},
		{key: "hidden", at: 0, stricter: true},
	}
	for _, tt := range tests {
		got, perr := locate(reflect.TypeOf(sample{}), strings.Split(tt.key, "."))
		switch {
		case tt.want == nil && perr == nil:
			t.Errorf("%s: no error, leaf %v", tt.key, got)
		case tt.want == nil && perr.at != tt.at:
			t.Errorf("%s: error at segment %d (%s), want %d", tt.key, perr.at, perr.reason, tt.at)
		case tt.want != nil && (perr != nil || got != tt.want):
			t.Errorf("%s: got %v, %+v; want %v", tt.key, got, perr, tt.want)
		}

		// Elsewhere locate must agree with paerser on what decodes.
		var s sample
		err := parser.Decode(map[string]string{"x." + tt.key: "1"}, &s, "x", "x.")
		if tt.stricter {
			if err != nil {
				t.Errorf("%s: paerser rejects it too (%v): not stricter", tt.key, err)
			}
			continue
		}
		if (err == nil) != (tt.want != nil) {
			t.Errorf("%s: paerser error %v, locate leaf %v", tt.key, err, got)
		}
	}
}

func TestCheckSegment(t *testing.T) {
	for seg, ok := range map[string]bool{
		"web": true, "volumes[0]": true, "v[12]": true,
		"": false, "web]": false, "[0]": false, "a[]": false, "a[x]": false, "a[0]b": false, "a[[0]]": false, "a]b": false,
	} {
		if got := checkSegment(seg) == ""; got != ok {
			t.Errorf("checkSegment(%q) ok = %v, want %v", seg, got, ok)
		}
	}
}

func TestFoldKey(t *testing.T) {
	for _, pair := range [][2]string{{"FOO", "foo"}, {"ſ", "S"}, {"K", "k"}, {"MaxInstances", "maxinstances"}} {
		if foldKey(pair[0]) != foldKey(pair[1]) || !strings.EqualFold(pair[0], pair[1]) {
			t.Errorf("%q and %q should fold together", pair[0], pair[1])
		}
	}
	if foldKey("a") == foldKey("b") {
		t.Error("a and b fold together")
	}
}

// TestValidationKeysExist keeps the keys Validate names in step with the
// Go types: each must be a label locate accepts.
func TestValidationKeysExist(t *testing.T) {
	w := &Workload{Name: "web", Image: "x:1", Port: -1, Healthcheck: "x", HealthTimeout: -1, DefaultTag: "-", MaxInstances: -1,
		Registry: "a b", Tags: "[", CPULimit: -1, MemoryLimit: -1, Command: "'", Entrypoint: "[",
		Env: map[string]string{"A=B": "x"},
		Volumes: map[string]*Volume{
			"a":         {Scope: "bogus", Source: "rel", Name: "x y"},
			"b":         {Target: "rel", Scope: ScopeAbsolute, Source: "rel"},
			"c":         {Target: "/c", Scope: ScopeEphemeral, Source: "/x", Name: "n", ReadOnly: true},
			"d":         {Target: "/c", Scope: ScopeNamed},
			"instances": {Target: "/", Scope: ScopeStage},
			"bad~key":   {Target: "/k", Scope: ScopeProjectNamed, Name: "-x"},
		},
		Faces: map[string]*Face{"f": {TargetPort: -1, Subdomain: "_", Domain: "_", AccessList: "a b"}}}
	errs := w.problems()
	errs = append(errs, (&Settings{Network: "a b", Domain: "_", BaseVolumePath: "rel"}).problems()...)
	if len(errs) != 33 {
		t.Fatalf("want 33 problems, got %d: %q", len(errs), errs)
	}
	for _, err := range errs {
		key := err.(*Error).Key
		if _, perr := locate(controllerType, strings.Split(strings.TrimPrefix(key, Root+"."), ".")); perr != nil {
			// A bare volume key names the group: check a label below it.
			if _, perr2 := locate(controllerType, strings.Split(strings.TrimPrefix(key+".target", Root+"."), ".")); perr2 != nil || !strings.Contains(key, ".volumes.") {
				t.Errorf("%s: %s", key, perr.reason)
			}
		}
	}
}
