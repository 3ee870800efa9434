package testsvc

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// RedisServer is a private redis-server on loopback, alive for one test.
type RedisServer struct {
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port/0
}

// Redis starts an empty redis-server without persistence, so tests never
// share state or leave files behind; it is killed at cleanup.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	bin := LookBinary(t, "redis-server")
	port := FreePort(t)
	StartProcess(t, t.TempDir(), bin,
		"--save", "", "--appendonly", "no",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := WaitTCP(addr, 10*time.Second); err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	return &RedisServer{Addr: addr, URL: "redis://" + addr + "/0"}
}
