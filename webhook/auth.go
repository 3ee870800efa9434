package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
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

// CheckToken compares a secret token taken from a request (a URL path
// segment, a query parameter, a verbatim Authorization value) with want, in
// constant time over hashes so neither content nor length leaks. An empty
// want never matches.
func CheckToken(got, want string) bool {
	if want == "" {
		return false
	}
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// CheckAuthorization accepts an Authorization header that is want verbatim
// (Harbor sends its configured "auth header" value as is) or "Bearer want".
func CheckAuthorization(header, want string) bool {
	return CheckToken(header, want) || CheckBearer(header, want)
}

// CheckHMACSHA256 verifies signature, the hex HMAC-SHA256 of body keyed
// with secret, optionally prefixed "sha256=" (GitHub's X-Hub-Signature-256;
// Gitea and Forgejo send bare hex). The comparison is hmac.Equal over the
// decoded bytes; malformed hex or an empty secret never matches.
func CheckHMACSHA256(body []byte, secret, signature string) bool {
	if secret == "" {
		return false
	}
	sig := strings.TrimSpace(signature)
	if len(sig) > len("sha256=") && strings.EqualFold(sig[:len("sha256=")], "sha256=") {
		sig = sig[len("sha256="):]
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// CheckGiteaSignature verifies the X-Gitea-Signature or X-Forgejo-Signature
// of a delivery. Gitea and Forgejo sign the JSON payload before they encode
// it, so a form delivery (payload=<url-encoded JSON>) is checked over its
// decoded "payload" field, not over the bytes received; a JSON delivery is
// checked over its body. The signed bytes are the very document ParseGitea
// reads (both go through jsonPayload), so nothing unsigned is parsed. A body
// jsonPayload refuses is checked as it came.
func CheckGiteaSignature(contentType string, body []byte, secret, signature string) bool {
	signed, err := jsonPayload("gitea event", contentType, body)
	if err != nil {
		signed = body
	}
	return CheckHMACSHA256(signed, secret, signature)
}
