package labels

import (
	"reflect"
	"testing"
)

func TestSuggest(t *testing.T) {
	keys := []string{"image", "registry", "port", "healthcheck", "healthTimeout", "defaultTag", "tags",
		"maxInstances", "cpuLimit", "memoryLimit", "command", "entrypoint", "env", "volumes", "faces"}
	tests := map[string][]string{
		"prot":          {"port"},
		"PORT":          {"port"},
		"imgae":         {"image"},
		"face":          {"faces"},
		"volume":        {"volumes"},
		"cpulimits":     {"cpuLimit"},
		"cpu":           {"cpuLimit"},
		"memory":        {"memoryLimit"},
		"health":        {"healthcheck", "healthTimeout"},
		"environment":   {"env"},
		"tag":           {"tags"},
		"defaulttags":   {"defaultTag"},
		"x":             nil,
		"ab":            nil,
		"name":          nil,
		"host":          nil,
		"somethingelse": nil,
	}
	for word, want := range tests {
		if got := suggest(word, keys); !reflect.DeepEqual(got, want) {
			t.Errorf("suggest(%q) = %q, want %q", word, got, want)
		}
	}
	if got := didYouMean("health", keys); got != `did you mean "healthcheck" or "healthTimeout"?` {
		t.Errorf("didYouMean: %q", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"port", "prot", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3}, {"héllo", "hello", 1}} {
		if d := editDistance(tt.a, tt.b); d != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.d)
		}
	}
}

func TestLowerCamel(t *testing.T) {
	for in, want := range map[string]string{"MaxInstances": "maxInstances", "CPULimit": "cpuLimit", "TLS": "tls",
		"Image": "image", "BaseVolumePath": "baseVolumePath", "ReadOnly": "readOnly", "X": "x"} {
		if got := lowerCamel(in); got != want {
			t.Errorf("lowerCamel(%q) = %q, want %q", in, got, want)
		}
	}
}
