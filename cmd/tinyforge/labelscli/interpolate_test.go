package labelscli

import (
	"reflect"
	"testing"
)

func TestInterpolate(t *testing.T) {
	env := map[string]string{"HOST": "reg.example.com", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in, want string
		unset    []string
		err      bool
	}{
		{in: "plain", want: "plain"},
		{in: "${HOST}/acme", want: "reg.example.com/acme"},
		{in: "$HOST/acme", want: "reg.example.com/acme"},
		{in: "${REGISTRY_HOST:-127.0.0.1:5000}/${APP:-acme/web}", want: "127.0.0.1:5000/acme/web"},
		{in: "${EMPTY:-d}", want: "d"},
		{in: "${EMPTY-d}", want: ""},
		{in: "${NOPE-d}", want: "d"},
		{in: "${HOST:-d}", want: "reg.example.com"},
		{in: "${NOPE}x", want: "x", unset: []string{"NOPE"}},
		{in: "price $$5 and $", want: "price $5 and $"},
		{in: "${TINYFORGE_SCOPE:-}", want: ""},
		{in: "${HOST", err: true},
		{in: "${HOST:?required}", want: "reg.example.com"},
		{in: "${NOPE:?set NOPE}", err: true},
		{in: "${1X}", err: true},
	}
	for _, tt := range tests {
		got, unset, err := interpolate(tt.in, lookup)
		if (err != nil) != tt.err || err == nil && (got != tt.want || !reflect.DeepEqual(unset, tt.unset)) {
			t.Errorf("interpolate(%q) = %q, %v, %v; want %q, %v, err=%v", tt.in, got, unset, err, tt.want, tt.unset, tt.err)
		}
	}
}
