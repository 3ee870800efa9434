package ui

import (
	"strings"
	"testing"
	"time"
)

func TestSessionSignedExpiringAndBoundToToken(t *testing.T) {
	now := time.Unix(1700000000, 0)
	s := newSessions("token-one", time.Hour)
	sess, cookie := s.issue(now)
	if strings.Contains(cookie, "token-one") {
		t.Fatal("cookie holds the token")
	}
	got, err := s.check(cookie, now.Add(59*time.Minute))
	if err != nil || string(got.id) != string(sess.id) {
		t.Fatalf("fresh cookie refused: %v", err)
	}
	if _, err := s.check(cookie, now.Add(time.Hour)); err == nil {
		t.Error("expired cookie accepted")
	}
	if _, err := newSessions("token-two", time.Hour).check(cookie, now); err == nil {
		t.Error("cookie of another token accepted")
	}
	p, sig, _ := strings.Cut(cookie, ".")
	forged := p[:len(p)-2] + "AA." + sig
	for _, bad := range []string{"", "x", forged, p + ".", "." + sig} {
		if _, err := s.check(bad, now); err == nil {
			t.Errorf("cookie %q accepted", bad)
		}
	}
	tok := s.csrf(sess)
	if !s.checkCSRF(sess, tok) {
		t.Error("own CSRF token refused")
	}
	other, _ := s.issue(now)
	if s.checkCSRF(other, tok) || s.checkCSRF(sess, "") || s.checkCSRF(sess, "!!") {
		t.Error("CSRF token of another session, empty or malformed accepted")
	}
}
