package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Sentinels callers check with errors.Is. None of them carries a value.
var (
	// ErrNoKey: no secret key is configured, so nothing can be sealed or opened.
	ErrNoKey = errors.New("no secret key configured (set TINYFORGE_SECRET_KEY_FILE)")
	// ErrDecrypt: no configured key opens the value (wrong key, or the
	// value was altered or moved to another name).
	ErrDecrypt = errors.New("cannot decrypt: sealed under a key that is not configured, or altered")
	// ErrMalformed: the stored value is not a sealed value at all.
	ErrMalformed = errors.New("not a sealed value")
)

// sealedPrefix starts every sealed value: format version 1.
const sealedPrefix = "tf1:"

// Keyring seals with its current key and opens with any of its keys. A nil
// *Keyring has no key: every operation fails with ErrNoKey.
type Keyring struct {
	keys []sealKey // keys[0] is the current key
}

type sealKey struct {
	id   string // first 4 bytes of SHA-256(key), hex: names the key, reveals nothing usable
	aead cipher.AEAD
	raw  []byte // for Derive only
}

// NewKeyring returns a keyring sealing under current; old keys (nil or
// empty ones are ignored) can still open values during a rotation.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	for i, raw := range append([][]byte{current}, old...) {
		if i > 0 && len(raw) == 0 {
			continue
		}
		sk, err := newSealKey(raw)
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("current key: %w", err)
			}
			return nil, fmt.Errorf("old key: %w", err)
		}
		k.keys = append(k.keys, sk)
	}
	return k, nil
}

func newSealKey(raw []byte) (sealKey, error) {
	if len(raw) != KeySize {
		return sealKey{}, fmt.Errorf("%d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return sealKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealKey{}, err
	}
	sum := sha256.Sum256(raw)
	return sealKey{id: hex.EncodeToString(sum[:4]), aead: aead, raw: bytes.Clone(raw)}, nil
}

// Seal encrypts plaintext under the current key. context is authenticated
// but not stored: a value opens only under the context it was sealed for
// (its registry or env key), so a value copied to another name in Redis
// does not decrypt there.
//
// The result is "tf1:<key id>:<base64url(nonce || ciphertext)>".
func (k *Keyring) Seal(plaintext []byte, context string) (string, error) {
	if k == nil || len(k.keys) == 0 {
		return "", ErrNoKey
	}
	cur := k.keys[0]
	nonce := make([]byte, cur.aead.NonceSize(), cur.aead.NonceSize()+len(plaintext)+cur.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := cur.aead.Seal(nonce, nonce, plaintext, aad(context))
	return sealedPrefix + cur.id + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal produced for context, trying the key it names
// first, then every other configured key.
func (k *Keyring) Open(sealed, context string) ([]byte, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, ErrNoKey
	}
	id, data, err := split(sealed)
	if err != nil {
		return nil, err
	}
	for _, sk := range k.ordered(id) {
		ns := sk.aead.NonceSize()
		if len(data) < ns+sk.aead.Overhead() {
			return nil, ErrMalformed
		}
		if pt, err := sk.aead.Open(nil, data[:ns], data[ns:], aad(context)); err == nil {
			return pt, nil
		}
	}
	return nil, ErrDecrypt
}

// Current reports whether sealed names the current key, i.e. whether a
// rotation can leave it alone.
func (k *Keyring) Current(sealed string) bool {
	if k == nil || len(k.keys) == 0 {
		return false
	}
	id, _, err := split(sealed)
	return err == nil && id == k.keys[0].id
}

// KeyIDs lists the ids of the configured keys, current first, for logs.
func (k *Keyring) KeyIDs() []string {
	if k == nil {
		return nil
	}
	ids := make([]string, len(k.keys))
	for i, sk := range k.keys {
		ids[i] = sk.id
	}
	return ids
}

// ordered returns the keys with the one named id first.
func (k *Keyring) ordered(id string) []sealKey {
	out := make([]sealKey, 0, len(k.keys))
	for _, sk := range k.keys {
		if sk.id == id {
			out = append(out, sk)
		}
	}
	for _, sk := range k.keys {
		if sk.id != id {
			out = append(out, sk)
		}
	}
	return out
}

func split(sealed string) (id string, data []byte, err error) {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", nil, ErrMalformed
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok || len(id) != 8 {
		return "", nil, ErrMalformed
	}
	data, err = base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return "", nil, ErrMalformed
	}
	return id, data, nil
}

func aad(context string) []byte { return []byte("tinyforge/v1/" + context) }
