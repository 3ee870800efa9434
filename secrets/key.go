package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// maxKeyFile bounds what LoadKeyFile reads: a key file is tiny.
const maxKeyFile = 4096

// ParseKey reads a 256-bit key in one of three encodings, told apart by
// length so none is ambiguous:
//
//   - exactly 32 bytes: the raw key (nothing is trimmed);
//   - 64 hexadecimal characters (e.g. `openssl rand -hex 32`);
//   - standard base64 of 32 bytes, 44 characters (e.g. `openssl rand -base64 32`).
//
// Surrounding whitespace (a trailing newline) is ignored for the two text
// forms. Errors describe the shape of the input, never its content.
func ParseKey(data []byte) ([]byte, error) {
	if len(data) == KeySize {
		return bytes.Clone(data), nil
	}
	text := bytes.TrimSpace(data)
	switch len(text) {
	case 2 * KeySize:
		key := make([]byte, KeySize)
		if _, err := hex.Decode(key, text); err != nil {
			return nil, errors.New("64 characters but not hexadecimal")
		}
		return key, nil
	case base64.StdEncoding.EncodedLen(KeySize):
		key, err := base64.StdEncoding.DecodeString(string(text))
		if err != nil || len(key) != KeySize {
			return nil, errors.New("44 characters but not the base64 of 32 bytes")
		}
		return key, nil
	}
	return nil, fmt.Errorf("%d bytes: want 32 raw bytes, 64 hexadecimal characters or 44 base64 characters (openssl rand -hex 32)", len(data))
}

// LoadKeyFile reads and parses the key file at path.
func LoadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("secret key file %s: larger than %d bytes: not a key", path, maxKeyFile)
	}
	key, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return key, nil
}

// LoadKeyring builds the keyring from the current and old key files (the
// TINYFORGE_SECRET_KEY_FILE and TINYFORGE_SECRET_OLD_KEY_FILE settings).
// No current key file means no keyring: secrets cannot be used, plain env
// overrides can.
func LoadKeyring(currentFile, oldFile string) (*Keyring, error) {
	if currentFile == "" {
		if oldFile != "" {
			return nil, errors.New("an old secret key file is set without a current one")
		}
		return nil, nil
	}
	cur, err := LoadKeyFile(currentFile)
	if err != nil {
		return nil, err
	}
	var old []byte
	if oldFile != "" {
		if old, err = LoadKeyFile(oldFile); err != nil {
			return nil, fmt.Errorf("old key: %w", err)
		}
	}
	return NewKeyring(cur, old)
}
