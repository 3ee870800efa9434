package secrets

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tinyforge/tinyforge/internal/keyfile"
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
	key, err := keyfile.Decode(string(bytes.TrimSpace(data)))
	if errors.Is(err, keyfile.ErrLength) {
		return nil, fmt.Errorf("%d bytes: want 32 raw bytes, 64 hexadecimal characters or 44 base64 characters (openssl rand -hex 32)", len(data))
	}
	return key, err
}

// LoadKeyFile reads and parses the key file at path.
func LoadKeyFile(path string) ([]byte, error) {
	data, err := keyfile.Read(path, "secret key file", maxKeyFile)
	if err != nil {
		return nil, err
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
