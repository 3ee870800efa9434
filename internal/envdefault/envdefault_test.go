package envdefault

import "testing"

func TestEnvName(t *testing.T) {
	for flag, want := range map[string]string{
		"listen":              "TINYFORGE_LISTEN",
		"redis-url":           "TINYFORGE_REDIS_URL",
		"secret-old-key-file": "TINYFORGE_SECRET_OLD_KEY_FILE",
	} {
		if got := EnvName(flag); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestLookup(t *testing.T) {
	env := map[string]string{"TINYFORGE_REDIS_URL": "redis://other:6379/1", "TINYFORGE_EMPTY": ""}
	getenv := func(k string) string { return env[k] }
	if got := Lookup(getenv, "redis-url", RedisURL); got != "redis://other:6379/1" {
		t.Errorf("set twin: %q", got)
	}
	if got := Lookup(getenv, "empty", "def"); got != "def" {
		t.Errorf("empty twin: %q, want the default", got)
	}
	if got := Lookup(getenv, "listen", Listen); got != Listen {
		t.Errorf("unset twin: %q, want %q", got, Listen)
	}
	if got := Usage("api-token", "bearer token"); got != "bearer token (env TINYFORGE_API_TOKEN)" {
		t.Errorf("usage: %q", got)
	}
}
