package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/tinyforge/tinyforge/imageref"
)

// checkTag refuses a tag outside Docker's grammar, naming the field of the
// delivery it came from: a tag becomes part of an image reference, a log
// line and a Redis record, so "../../etc\nX" must stop here.
func checkTag(what, field, tag string) error {
	if !imageref.ValidTag(tag) {
		return fmt.Errorf("decode %s: %s %s is not a valid tag: %s", what, field, quoteShort(tag), imageref.TagRule)
	}
	return nil
}

// checkDigest refuses a digest outside the grammar registries accept
// ("sha256:" and 64 lower-case hex digits, or sha384/sha512), naming the
// field; an empty digest is fine (the source did not send one).
func checkDigest(what, field, digest string) error {
	if digest != "" && !imageref.ValidDigest(digest) {
		return fmt.Errorf("decode %s: %s %s is not a valid digest: want sha256: and 64 lower-case hex digits", what, field, quoteShort(digest))
	}
	return nil
}

// quoteShort quotes s for an error message, cut to 80 bytes: the value is
// the sender's and may be a megabyte long.
func quoteShort(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q...", s[:80])
	}
	return fmt.Sprintf("%q", s)
}

// signedKey identifies the bytes a delivery's signature covers, so that a
// captured delivery replayed under a new delivery id is still known.
func signedKey(signed []byte) string {
	sum := sha256.Sum256(signed)
	return "body-" + hex.EncodeToString(sum[:16])
}
