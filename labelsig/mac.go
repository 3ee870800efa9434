package labelsig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// sigPrefix starts every signature this package writes: format version 1.
const sigPrefix = "v1:"

// Sentinels callers check with errors.Is.
var (
	// ErrUnsigned: the labels carry no signature at all.
	ErrUnsigned = errors.New("not signed")
	// ErrBadSignature: a signature is present but no configured key made it.
	ErrBadSignature = errors.New("signature does not verify under any configured key")
)

// MAC signs label sets with its current key and verifies them with any
// of its keys, so signatures made before a key rotation keep verifying
// while the old key is configured. A nil *MAC signs nothing and verifies
// nothing (see Enabled).
type MAC struct {
	keys [][]byte // keys[0] signs
}

// NewMAC returns a MAC signing under current; old keys (nil or empty
// ones are ignored) still verify. An empty current key gives nil: no
// signing.
func NewMAC(current []byte, old ...[]byte) *MAC {
	if len(current) == 0 {
		return nil
	}
	m := &MAC{keys: [][]byte{current}}
	for _, k := range old {
		if len(k) > 0 {
			m.keys = append(m.keys, k)
		}
	}
	return m
}

// Enabled reports whether m has a key.
func (m *MAC) Enabled() bool { return m != nil && len(m.keys) > 0 }

// Sign returns the signature of lbls under the current key: "v1:" and the
// hex HMAC-SHA256 of Canonical(lbls). It returns "" when m has no key.
func (m *MAC) Sign(lbls map[string]string) string {
	if !m.Enabled() {
		return ""
	}
	return sigPrefix + sum(m.keys[0], Canonical(lbls))
}

// Verify checks sig against lbls under every key: nil, ErrUnsigned (sig
// is empty) or ErrBadSignature.
func (m *MAC) Verify(lbls map[string]string, sig string) error {
	_, err := verify(m.keysOrNil(), lbls, sig)
	return err
}

func (m *MAC) keysOrNil() [][]byte {
	if m == nil {
		return nil
	}
	return m.keys
}

// verify returns the index of the key that made sig.
func verify(keys [][]byte, lbls map[string]string, sig string) (int, error) {
	if sig == "" {
		return -1, ErrUnsigned
	}
	got, ok := strings.CutPrefix(sig, sigPrefix)
	if !ok {
		return -1, ErrBadSignature
	}
	raw, err := hex.DecodeString(got)
	if err != nil || len(raw) != sha256.Size {
		return -1, ErrBadSignature
	}
	msg := Canonical(lbls)
	for i, k := range keys {
		want, _ := hex.DecodeString(sum(k, msg))
		if hmac.Equal(raw, want) {
			return i, nil
		}
	}
	return -1, ErrBadSignature
}

func sum(key, msg []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return hex.EncodeToString(h.Sum(nil))
}
