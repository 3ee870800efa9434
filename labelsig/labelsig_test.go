package labelsig

import (
	"errors"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

func TestCanonicalIsInjective(t *testing.T) {
	// A value with a newline must not read as two labels.
	a := Canonical(map[string]string{"a": "1\nb=2"})
	b := Canonical(map[string]string{"a": "1", "b": "2"})
	if string(a) == string(b) {
		t.Fatalf("value with a newline encodes like two labels: %q", a)
	}
	// '=' in a key must not move the split.
	c := Canonical(map[string]string{"a=b": "c"})
	d := Canonical(map[string]string{"a": "b=c"})
	if string(c) == string(d) {
		t.Fatalf("'=' in a key encodes like '=' in the value: %q", c)
	}
	if got := string(Canonical(map[string]string{"b": "2", "a": "1"})); got != "a=1\nb=2\n" {
		t.Fatalf("Canonical = %q, want sorted key=value lines", got)
	}
}

func TestMACSignsAndVerifiesAcrossRotation(t *testing.T) {
	old := []byte("0123456789abcdef0123456789abcdef")
	cur := []byte("fedcba9876543210fedcba9876543210")
	lbls := map[string]string{"tinyforge.workload": "web", "tinyforge.digest": "sha256:1"}
	byOld := NewMAC(old).Sign(lbls)
	rotated := NewMAC(cur, old)
	if err := rotated.Verify(lbls, byOld); err != nil {
		t.Fatalf("signature of the old key after rotation: %v", err)
	}
	if err := NewMAC(cur).Verify(lbls, byOld); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("old key dropped: %v, want ErrBadSignature", err)
	}
	changed := map[string]string{"tinyforge.workload": "victim", "tinyforge.digest": "sha256:1"}
	if err := rotated.Verify(changed, rotated.Sign(lbls)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature moved to other labels: %v, want ErrBadSignature", err)
	}
	if err := rotated.Verify(lbls, ""); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("no signature: %v, want ErrUnsigned", err)
	}
	for _, bad := range []string{"v1:zz", "v2:" + strings.Repeat("0", 64), "garbage"} {
		if err := rotated.Verify(lbls, bad); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify(%q) = %v, want ErrBadSignature", bad, err)
		}
	}
	var none *MAC
	if none.Enabled() || none.Sign(lbls) != "" {
		t.Fatal("a nil MAC signs")
	}
}

func TestControllerKeys(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	keys, err := ParseControllerKeys([]byte("# operators\n" + hexKey + "\n\nteam-a:" + strings.Repeat("cd", 32) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctrl := map[string]string{
		labels.Enable:                       "true",
		"tinyforge.workloads.web.image":     "reg/web",
		"com.docker.compose.project":        "x", // not covered: not tinyforge.*
		"tinyforge.workloads.web.faces.www": "",
	}
	teamKey, _ := ParseControllerKey("team-a:" + strings.Repeat("cd", 32))
	ctrl[labels.Signature] = SignController(teamKey.Secret, ctrl)
	scope, err := keys.Verify(ctrl)
	if err != nil || scope != "team-a" {
		t.Fatalf("Verify = %q, %v; want team-a", scope, err)
	}
	ctrl["com.docker.compose.project"] = "y"
	if _, err := keys.Verify(ctrl); err != nil {
		t.Fatalf("a non-tinyforge label changed the verdict: %v", err)
	}
	ctrl["tinyforge.workloads.web.image"] = "evil/web"
	if _, err := keys.Verify(ctrl); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("altered label: %v, want ErrBadSignature", err)
	}
	delete(ctrl, labels.Signature)
	if _, err := keys.Verify(ctrl); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned: %v, want ErrUnsigned", err)
	}
}

func TestParseControllerKeysErrorsNameTheLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "no key",
		"short":                                  "line 1: key of 5 characters",
		"\nBAD SCOPE:" + strings.Repeat("a", 64): "line 2: the scope",
		strings.Repeat("z", 64):                  "not hexadecimal",
	} {
		_, err := ParseControllerKeys([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseControllerKeys(%q) = %v, want %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), strings.Repeat("a", 64)) {
			t.Errorf("error quotes the key: %v", err)
		}
	}
}
