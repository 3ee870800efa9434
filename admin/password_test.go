package admin

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestRedisPasswordFile: the admin commands reach a password-protected
// Redis with the sidecar's TINYFORGE_REDIS_PASSWORD_FILE, as they do when
// run in the container of compose.example.yml.
func TestRedisPasswordFile(t *testing.T) {
	h := newHarness(t)
	opts, err := redis.ParseURL(h.url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.ConfigSet(context.Background(), "requirepass", "pw-from-file").Err(); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := h.run("", "registry", "list"); code == 0 {
		t.Fatalf("registry list without the password succeeded: %s", errOut)
	}
	h.env["TINYFORGE_REDIS_PASSWORD_FILE"] = h.file("redis_password", "pw-from-file\n")
	h.ok("", "registry", "list")
}
