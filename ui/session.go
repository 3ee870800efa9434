package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// sessionCookie is the name of the page's session cookie.
const sessionCookie = "tinyforge_session"

// sessions signs and checks session cookies. The key is derived from the
// API token: the cookie never holds the token, a changed token ends every
// session, and sessions survive a restart of the sidecar.
type sessions struct {
	key []byte
	ttl time.Duration
}

func newSessions(token string, ttl time.Duration) sessions {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("tinyforge status page session v1"))
	return sessions{key: m.Sum(nil), ttl: ttl}
}

// session is one login: its random id and when it expires.
type session struct {
	id      []byte
	expires time.Time
}

var errBadSession = errors.New("session cookie invalid or expired")

// issue returns a new session and its cookie value:
// base64url(expiry || id) "." base64url(HMAC(key, expiry || id)).
func (s sessions) issue(now time.Time) (session, string) {
	payload := make([]byte, 8+16)
	exp := now.Add(s.ttl)
	binary.BigEndian.PutUint64(payload, uint64(exp.Unix()))
	_, _ = rand.Read(payload[8:])
	enc := base64.RawURLEncoding
	return session{id: payload[8:], expires: time.Unix(exp.Unix(), 0)},
		enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac("session", payload))
}

// check returns the session of a cookie value that this key signed and
// that has not expired.
func (s sessions) check(value string, now time.Time) (session, error) {
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return session{}, errBadSession
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != 24 || !hmac.Equal(mac, s.mac("session", payload)) {
		return session{}, errBadSession
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(payload)), 0)
	if !now.Before(exp) {
		return session{}, errBadSession
	}
	return session{id: payload[8:], expires: exp}, nil
}

// csrf is the synchronizer token of a session: every form carries it and
// every action checks it, so a page of another site cannot act with the
// session cookie.
func (s sessions) csrf(sess session) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", sess.id))
}

// checkCSRF reports whether token is the CSRF token of sess.
func (s sessions) checkCSRF(sess session, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && hmac.Equal(got, s.mac("csrf", sess.id))
}

func (s sessions) mac(purpose string, b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(b)
	return m.Sum(nil)
}
