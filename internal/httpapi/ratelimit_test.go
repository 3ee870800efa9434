package httpapi

import "testing"

func TestRemoteKey(t *testing.T) {
	cases := map[string]string{
		"127.0.0.2:5555":              "127.0.0.2",
		"[2001:db8:1:2:3:4:5:6]:443":  "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:4:5:6]:1": "2001:db8:1:2::/64",
		"[::ffff:10.0.0.1]:80":        "10.0.0.1",
		"not-an-address":              "not-an-address",
	}
	for in, want := range cases {
		if got := remoteKey(in); got != want {
			t.Errorf("remoteKey(%q) = %q, want %q", in, got, want)
		}
	}
}
