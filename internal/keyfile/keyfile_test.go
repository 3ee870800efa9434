package keyfile

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

func TestReadBoundsTheFileAndNamesIt(t *testing.T) {
	dir := t.TempDir()
	exact := filepath.Join(dir, "exact")
	if err := os.WriteFile(exact, bytes.Repeat([]byte("a"), 10), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := Read(exact, "test key file", 10); err != nil || len(data) != 10 {
		t.Fatalf("Read(10 bytes, max 10) = %d bytes, %v", len(data), err)
	}
	_, err := Read(exact, "test key file", 9)
	if err == nil || err.Error() != "test key file "+exact+": larger than 9 bytes: not a key" {
		t.Fatalf("Read(10 bytes, max 9) = %v", err)
	}
	_, err = Read(filepath.Join(dir, "missing"), "test key file", 10)
	if err == nil || !strings.HasPrefix(err.Error(), "test key file: ") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Read(missing) = %v", err)
	}
}

func TestDecode(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, text := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key)} {
		if got, err := Decode(text); err != nil || !bytes.Equal(got, key) {
			t.Errorf("Decode(%d characters) = %x, %v", len(text), got, err)
		}
	}
	for text, want := range map[string]string{
		strings.Repeat("z", 64):                     "64 characters but not hexadecimal",
		strings.Repeat("!", 44):                     "44 characters but not the base64 of 32 bytes",
		base64.StdEncoding.EncodeToString(key[:31]): "44 characters but not the base64 of 32 bytes",
	} {
		if _, err := Decode(text); err == nil || err.Error() != want {
			t.Errorf("Decode(%q) = %v, want %q", text, err, want)
		}
	}
	for _, text := range []string{"", "secret", hex.EncodeToString(key) + "\n"} {
		if _, err := Decode(text); !errors.Is(err, ErrLength) {
			t.Errorf("Decode(%d characters) = %v, want ErrLength", len(text), err)
		}
	}
}
