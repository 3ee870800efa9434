package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// CheckBearer reports whether an Authorization header carries token with
// the Bearer scheme (the scheme name is case-insensitive, RFC 7235). The
// comparison is constant-time, and hashing first hides the token's length.
// An empty token never matches: an unset secret must not open the door.
func CheckBearer(header, token string) bool {
	const scheme = "Bearer "
	if token == "" || len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimLeft(header[len(scheme):], " ")))
	want := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
