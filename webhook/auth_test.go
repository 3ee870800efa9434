package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

func TestCheckBearer(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		header, token string
		want          bool
	}{
		{"Bearer s3cret-token", token, true},
		{"bearer s3cret-token", token, true},
		{"BEARER  s3cret-token", token, true},
		{"Bearer s3cret-toke", token, false},
		{"Bearer s3cret-token2", token, false},
		{"Bearer S3CRET-TOKEN", token, false},
		{"s3cret-token", token, false},
		{"Basic s3cret-token", token, false},
		{"Bearers3cret-token", token, false},
		{"Token s3cret-token", token, false},
		{"", token, false},
		{"Bearer", token, false},
		{"Bearer ", token, false},
		{"Bearer ", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := CheckBearer(tt.header, tt.token); got != tt.want {
			t.Errorf("CheckBearer(%q, %q) = %v, want %v", tt.header, tt.token, got, tt.want)
		}
	}
}

func TestCheckToken(t *testing.T) {
	for _, tt := range []struct {
		got, want string
		ok        bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"ab", "abc", false},
		{"abcd", "abc", false},
		{"", "", false},
		{"x", "", false},
	} {
		if ok := CheckToken(tt.got, tt.want); ok != tt.ok {
			t.Errorf("CheckToken(%q, %q) = %v", tt.got, tt.want, ok)
		}
	}
}

func TestCheckAuthorization(t *testing.T) {
	for _, tt := range []struct {
		header string
		ok     bool
	}{
		{"harbor-s3cret", true},
		{"Bearer harbor-s3cret", true},
		{"Basic harbor-s3cret", false},
		{"harbor-s3cret ", false},
		{"", false},
	} {
		if ok := CheckAuthorization(tt.header, "harbor-s3cret"); ok != tt.ok {
			t.Errorf("CheckAuthorization(%q) = %v", tt.header, ok)
		}
	}
}

func TestCheckHMACSHA256(t *testing.T) {
	body := []byte(`{"action":"published"}`)
	const other = "6a0a3a4ff0a6c3d5f1b1b5dc0ae3b0b8a6d1c67e8b5d1e2c0f5d2a1e2b0c9d8e" // well-formed, not the MAC
	sig := hmacHex("s3cret", body)
	tests := []struct {
		name, secret, sig string
		body              []byte
		ok                bool
	}{
		{"github form", "s3cret", "sha256=" + sig, body, true},
		{"gitea bare hex", "s3cret", sig, body, true},
		{"upper-case hex and prefix", "s3cret", "SHA256=" + strings.ToUpper(sig), body, true},
		{"wrong secret", "other", sig, body, false},
		{"body changed", "s3cret", sig, append([]byte{' '}, body...), false},
		{"other 32 bytes", "s3cret", other, body, false},
		{"sha1 signature", "s3cret", "sha1=" + sig[:40], body, false},
		{"truncated", "s3cret", sig[:62], body, false},
		{"not hex", "s3cret", strings.Repeat("z", 64), body, false},
		{"empty signature", "s3cret", "", body, false},
		{"empty secret", "", hmacHex("", body), body, false},
	}
	for _, tt := range tests {
		if ok := CheckHMACSHA256(tt.body, tt.secret, tt.sig); ok != tt.ok {
			t.Errorf("%s: CheckHMACSHA256 = %v, want %v", tt.name, ok, tt.ok)
		}
	}
}

// TestCheckGiteaSignature signs as Gitea and Forgejo do
// (services/webhook/deliver.go): the HMAC covers the JSON payload, which
// a form delivery carries url-encoded in its "payload" field.
func TestCheckGiteaSignature(t *testing.T) {
	payload := []byte(`{"action":"created","package":{"name":"web"}}`)
	form := []byte(url.Values{"payload": {string(payload)}}.Encode())
	sig := hmacHex("s3cret", payload)
	tests := []struct {
		name, contentType, sig string
		body                   []byte
		ok                     bool
	}{
		{"json", "application/json", sig, payload, true},
		{"no content type is json", "", sig, payload, true},
		{"form, signed over the payload", mediaForm, sig, form, true},
		{"form with charset", mediaForm + "; charset=utf-8", sig, form, true},
		{"form, signed over the raw body", mediaForm, hmacHex("s3cret", form), form, false},
		{"form, wrong signature", mediaForm, hmacHex("other", payload), form, false},
		{"form, payload changed", mediaForm, sig, []byte(url.Values{"payload": {string(payload) + " "}}.Encode()), false},
		{"json sent as a form is checked over its body", mediaForm, hmacHex("s3cret", payload), payload, true},
		{"json, signed over its form encoding", "application/json", hmacHex("s3cret", form), payload, false},
		{"unsupported type is checked over the body", "text/plain", sig, payload, true},
		{"form, empty signature", mediaForm, "", form, false},
	}
	for _, tt := range tests {
		if ok := CheckGiteaSignature(tt.contentType, tt.body, "s3cret", tt.sig); ok != tt.ok {
			t.Errorf("%s: CheckGiteaSignature = %v, want %v", tt.name, ok, tt.ok)
		}
	}
	if CheckGiteaSignature(mediaForm, form, "", hmacHex("", payload)) {
		t.Error("an empty secret matched")
	}
}

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
