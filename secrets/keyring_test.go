package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestParseKey(t *testing.T) {
	raw := []byte("0123456789abcdef0123456789abcdef")
	cases := []struct {
		name string
		in   []byte
		want []byte
		err  string
	}{
		{"raw 32 bytes, kept verbatim", raw, raw, ""},
		{"raw with spaces kept", []byte(" 123456789abcdef0123456789abcde "), []byte(" 123456789abcdef0123456789abcde "), ""},
		{"hex", []byte(hex.EncodeToString(raw)), raw, ""},
		{"hex with newline", []byte(hex.EncodeToString(raw) + "\n"), raw, ""},
		{"base64 with newline", []byte(base64.StdEncoding.EncodeToString(raw) + "\n"), raw, ""},
		{"empty", nil, nil, "0 bytes"},
		{"short", []byte("secret"), nil, "6 bytes: want 32 raw bytes"},
		{"64 non-hex", []byte(strings.Repeat("z", 64)), nil, "not hexadecimal"},
		{"44 non-base64", []byte(strings.Repeat("!", 44)), nil, "not the base64"},
		{"raw plus newline is not raw", append(bytes.Clone(raw), '\n'), nil, "33 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseKey = %v, want error containing %q", err, tc.err)
				}
				if len(tc.in) > 0 && strings.Contains(err.Error(), string(bytes.TrimSpace(tc.in))) {
					t.Fatalf("error %q quotes the key material", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("ParseKey = %x, %v; want %x", got, err, tc.want)
			}
		})
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "key")
	if err := os.WriteFile(good, []byte(hex.EncodeToString(testKey(7))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadKeyFile(good); err != nil || !bytes.Equal(k, testKey(7)) {
		t.Fatalf("LoadKeyFile = %x, %v", k, err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("a"), 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(big); err == nil || !strings.Contains(err.Error(), "not a key") {
		t.Fatalf("LoadKeyFile(big) = %v", err)
	}
	if _, err := LoadKeyFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("LoadKeyFile(missing) = %v", err)
	}
}

func TestSealOpen(t *testing.T) {
	k1, err := NewKeyring(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k1.Seal([]byte("hunter2"), "env/web/DB_PASSWORD")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "hunter2") || !strings.HasPrefix(sealed, "tf1:") {
		t.Fatalf("sealed = %q", sealed)
	}
	again, _ := k1.Seal([]byte("hunter2"), "env/web/DB_PASSWORD")
	if again == sealed {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	if pt, err := k1.Open(sealed, "env/web/DB_PASSWORD"); err != nil || string(pt) != "hunter2" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if !k1.Current(sealed) {
		t.Error("Current = false for a value sealed under the current key")
	}

	// Bound to its context: moved to another name, it does not open.
	if _, err := k1.Open(sealed, "env/web/OTHER"); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open under another context = %v, want ErrDecrypt", err)
	}
	// Altered: one byte flipped fails authentication.
	b := []byte(sealed)
	b[len(b)-3] ^= 1
	if b[len(b)-3] == '-' || b[len(b)-3] == '_' { // keep it base64url
		b[len(b)-3] = 'A'
	}
	if _, err := k1.Open(string(b), "env/web/DB_PASSWORD"); err == nil {
		t.Error("altered value opened")
	}

	// Rotation: a keyring with a new current key and the old one opens
	// both and reports the old value as not current.
	k2, err := NewKeyring(testKey(2), testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k2.Open(sealed, "env/web/DB_PASSWORD"); err != nil || string(pt) != "hunter2" {
		t.Fatalf("Open with the old key configured = %q, %v", pt, err)
	}
	if k2.Current(sealed) {
		t.Error("Current = true for a value under the old key")
	}
	// Without the old key it does not open.
	k3, _ := NewKeyring(testKey(2))
	if _, err := k3.Open(sealed, "env/web/DB_PASSWORD"); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open with the wrong key = %v, want ErrDecrypt", err)
	}
	if got := k2.KeyIDs(); len(got) != 2 || got[1] != k1.KeyIDs()[0] {
		t.Errorf("KeyIDs = %v", got)
	}

	var none *Keyring
	if _, err := none.Seal([]byte("x"), "c"); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil keyring Seal = %v", err)
	}
	if _, err := none.Open(sealed, "c"); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil keyring Open = %v", err)
	}
	for _, bad := range []string{"", "hunter2", "tf1:", "tf1:abc:xyz", "tf1:00000000:!!", "tf1:00000000:" + base64.RawURLEncoding.EncodeToString([]byte("short"))} {
		if _, err := k1.Open(bad, "c"); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open(%q) = %v, want ErrMalformed or ErrDecrypt", bad, err)
		}
	}
	if _, err := NewKeyring([]byte("short")); err == nil {
		t.Error("NewKeyring accepted a 5-byte key")
	}
	if _, err := NewKeyring(testKey(1), []byte("short")); err == nil || !strings.Contains(err.Error(), "old key") {
		t.Errorf("NewKeyring with a bad old key = %v", err)
	}
}

// FuzzOpen: no stored value, however mangled, panics Open or opens
// without the key it was sealed under.
func FuzzOpen(f *testing.F) {
	k, _ := NewKeyring(testKey(1))
	s, _ := k.Seal([]byte("v"), "c")
	f.Add(s)
	f.Add("tf1:00000000:AAAA")
	f.Add("")
	other, _ := NewKeyring(testKey(9))
	f.Fuzz(func(t *testing.T, in string) {
		if pt, err := other.Open(in, "c"); err == nil {
			t.Fatalf("opened %q as %q without its key", in, pt)
		}
		_, _ = k.Open(in, "c")
		_ = k.Current(in)
	})
}

// FuzzParseKey: any key file content is either refused without being
// quoted or yields exactly 32 bytes.
func FuzzParseKey(f *testing.F) {
	f.Add([]byte(hex.EncodeToString(testKey(3))))
	f.Add([]byte(base64.StdEncoding.EncodeToString(testKey(3))))
	f.Add(testKey(3))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := ParseKey(in)
		if err == nil && len(k) != KeySize {
			t.Fatalf("ParseKey returned %d bytes", len(k))
		}
		if err != nil && len(in) >= 8 && strings.Contains(err.Error(), string(in)) {
			t.Fatalf("error %q quotes the input", err)
		}
	})
}

func TestDeriveRotatesWithTheKeyring(t *testing.T) {
	a, b := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	before, _ := NewKeyring(a)
	after, _ := NewKeyring(b, a)
	d1, d2 := before.Derive("x"), after.Derive("x")
	if len(d1) != 1 || len(d2) != 2 || !bytes.Equal(d1[0], d2[1]) || bytes.Equal(d2[0], d2[1]) {
		t.Fatalf("derived keys do not follow the rotation: %x / %x", d1, d2)
	}
	if bytes.Equal(d1[0], a) || bytes.Equal(before.Derive("y")[0], d1[0]) {
		t.Fatal("derived key equals the secret key or ignores info")
	}
	var none *Keyring
	if none.Derive("x") != nil {
		t.Fatal("nil keyring derived keys")
	}
}
