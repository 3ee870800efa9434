package labelsig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/tinyforge/tinyforge/internal/keyfile"
	"github.com/tinyforge/tinyforge/labels"
)

// ControllerKey is one key of --controller-key-file: controllers whose
// labels it signed are obeyed, and what they declare belongs to Scope
// ("" for an operator key bound to no scope).
type ControllerKey struct {
	Scope  string
	Secret []byte
}

// ControllerKeys verifies controller signatures. A nil or empty
// ControllerKeys means controller authentication is off.
type ControllerKeys struct {
	keys []ControllerKey
}

// NewControllerKeys returns the verifier of keys.
func NewControllerKeys(keys ...ControllerKey) *ControllerKeys {
	return &ControllerKeys{keys: keys}
}

// Enabled reports whether any key is configured.
func (k *ControllerKeys) Enabled() bool { return k != nil && len(k.keys) > 0 }

// Signed returns the labels a controller signature covers: every
// tinyforge.* label except the signature itself.
func Signed(containerLabels map[string]string) map[string]string {
	out := map[string]string{}
	for key, v := range containerLabels {
		if strings.HasPrefix(key, labels.Root+".") && key != labels.Signature {
			out[key] = v
		}
	}
	return out
}

// SignController returns the tinyforge.signature value of a controller
// carrying containerLabels, under key.
func SignController(key []byte, containerLabels map[string]string) string {
	return sigPrefix + sum(key, Canonical(Signed(containerLabels)))
}

// Verify checks a controller's tinyforge.signature and returns the scope
// of the key that made it. Errors wrap ErrUnsigned or ErrBadSignature.
func (k *ControllerKeys) Verify(containerLabels map[string]string) (scope string, err error) {
	if !k.Enabled() {
		return "", nil
	}
	secrets := make([][]byte, len(k.keys))
	for i, ck := range k.keys {
		secrets[i] = ck.Secret
	}
	i, err := verify(secrets, Signed(containerLabels), containerLabels[labels.Signature])
	if err != nil {
		return "", fmt.Errorf("%s: %w", labels.Signature, err)
	}
	return k.keys[i].Scope, nil
}

// maxKeyFile bounds what LoadControllerKeys reads.
const maxKeyFile = 64 << 10

// LoadControllerKeys reads a controller key file (see ParseControllerKeys).
func LoadControllerKeys(path string) (*ControllerKeys, error) {
	data, err := keyfile.Read(path, "controller key file", maxKeyFile)
	if err != nil {
		return nil, err
	}
	keys, err := ParseControllerKeys(data)
	if err != nil {
		return nil, fmt.Errorf("controller key file %s: %w", path, err)
	}
	return keys, nil
}

// ParseControllerKeys reads one key a line: "<key>" for a key bound to
// no scope, "<scope>:<key>" for a key bound to one, where key is 64
// hexadecimal characters or the base64 of 32 bytes (openssl rand -hex
// 32). Blank lines and lines starting with '#' are skipped. Errors name
// the line, never the key.
func ParseControllerKeys(data []byte) (*ControllerKeys, error) {
	var keys []ControllerKey
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := ParseControllerKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("no key in the file")
	}
	return NewControllerKeys(keys...), nil
}

// ParseControllerKey reads one "[scope:]key" entry of a key file.
func ParseControllerKey(line string) (ControllerKey, error) {
	var k ControllerKey
	text := line
	if scope, rest, ok := strings.Cut(line, ":"); ok {
		if !validScope(scope) {
			return k, errors.New("the scope before ':' must be 1-63 of a-z, 0-9, '-', '_'")
		}
		k.Scope, text = scope, rest
	}
	secret, err := parseSecret(strings.TrimSpace(text))
	if err != nil {
		return k, err
	}
	k.Secret = secret
	return k, nil
}

func parseSecret(text string) ([]byte, error) {
	secret, err := keyfile.Decode(text)
	if errors.Is(err, keyfile.ErrLength) {
		return nil, fmt.Errorf("key of %d characters: want 64 hexadecimal characters or 44 base64 characters (openssl rand -hex 32)", len(text))
	}
	return secret, err
}

func validScope(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Key returns the first key bound to scope ("" for an unscoped key).
func (k *ControllerKeys) Key(scope string) (ControllerKey, bool) {
	if k == nil {
		return ControllerKey{}, false
	}
	for _, ck := range k.keys {
		if ck.Scope == scope {
			return ck, true
		}
	}
	return ControllerKey{}, false
}
