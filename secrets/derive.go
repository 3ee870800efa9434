package secrets

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// Derive returns one 32-byte key per configured key, current first,
// derived with HKDF-SHA256 under info: keys for other purposes (the
// signatures of managed containers) that rotate with the secret key and
// reveal nothing about it. A keyring without keys derives nothing.
func (k *Keyring) Derive(info string) [][]byte {
	if k == nil {
		return nil
	}
	out := make([][]byte, 0, len(k.keys))
	for _, sk := range k.keys {
		key, err := hkdf.Key(sha256.New, sk.raw, nil, info, KeySize)
		if err != nil { // only for lengths HKDF cannot produce: never 32
			panic("hkdf: " + err.Error())
		}
		out = append(out, key)
	}
	return out
}
