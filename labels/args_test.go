package labels

import (
	"errors"
	"reflect"
	"testing"
)

func TestArgsSplit(t *testing.T) {
	tests := []struct {
		in   Args
		want []string // nil with ok: no override
		bad  bool
	}{
		{in: "", want: nil},
		{in: "serve", want: []string{"serve"}},
		{in: "  serve   --port  8080 ", want: []string{"serve", "--port", "8080"}},
		{in: `sh -c "echo a, b"`, want: []string{"sh", "-c", "echo a, b"}},
		{in: `sh -c 'echo "$HOME" \n'`, want: []string{"sh", "-c", `echo "$HOME" \n`}},
		{in: `a\ b c`, want: []string{"a b", "c"}},
		{in: `"" x`, want: []string{"", "x"}},
		{in: `pre"mid dle"'post'`, want: []string{"premid dlepost"}},
		{in: `"a \"q\" \\ \$ \x"`, want: []string{`a "q" \ $ \x`}},
		{in: "a \\\n b", want: []string{"a", "b"}},
		{in: "a\tb\nc", want: []string{"a", "b", "c"}},
		{in: "ünï cödé", want: []string{"ünï", "cödé"}},
		{in: `["sh", "-c", "echo a, b"]`, want: []string{"sh", "-c", "echo a, b"}},
		{in: ` [ "x y" ] `, want: []string{"x y"}},
		{in: `[]`, want: []string{}},
		{in: `"open`, bad: true},
		{in: `'open`, bad: true},
		{in: `trailing\`, bad: true},
		{in: `["a", 1]`, bad: true},
		{in: `[not json`, bad: true},
		{in: `{"a": "b"}`, want: []string{"{a:", "b}"}}, // only [ starts JSON
	}
	for _, tt := range tests {
		got, err := tt.in.Split()
		if tt.bad {
			if err == nil || !errors.Is(err, ErrArgs) {
				t.Errorf("Split(%q) = %q, %v; want an ErrArgs", tt.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("Split(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}
