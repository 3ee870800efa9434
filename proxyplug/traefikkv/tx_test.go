package traefikkv_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/proxyplug/traefikkv"
)

// TestSwitchIsOneTransaction proves a switch is atomic in two ways while
// a route flips 200 times between two versions that differ in three keys
// (rule, upstream URL, tls):
//   - Redis's MONITOR shows every write of the plugin inside MULTI/EXEC,
//     and one EXEC per switch;
//   - a concurrent reader taking atomic snapshots (MGET) of the three keys
//     never sees a mix of the two versions, which two separate writes would
//     let it see.
func TestSwitchIsOneTransaction(t *testing.T) {
	srv := testsvc.Redis(t)
	rdb := client(t, srv.Addr)
	ctx := context.Background()
	p := newPlugin(t, rdb, traefikkv.Options{})

	blue := route("www", "10.0.0.2:8080", false)
	green := route("www", "10.0.0.3:8080", true)
	green.Host = "green.example.com"
	must(t, p.Upsert(ctx, blue))

	mon := monitor(t, srv.Addr)

	keys := []string{
		"traefik/http/routers/tf-web-www/rule",
		"traefik/http/services/tf-web-www/loadbalancer/servers/0/url",
		"traefik/http/routers/tf-web-www/tls",
	}
	valid := map[string]bool{
		"Host(`www.example.com`)|http://10.0.0.2:8080|":       true,
		"Host(`green.example.com`)|http://10.0.0.3:8080|true": true,
	}
	var reads atomic.Int64
	var mixed []string
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	reader := client(t, srv.Addr)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			vals, err := reader.MGet(ctx, keys...).Result()
			if err != nil {
				t.Error(err)
				return
			}
			snap := make([]string, len(vals))
			for i, v := range vals {
				snap[i], _ = v.(string)
			}
			reads.Add(1)
			if s := strings.Join(snap, "|"); !valid[s] {
				mu.Lock()
				mixed = append(mixed, s)
				mu.Unlock()
			}
		}
	})

	const switches = 200
	for i := range switches {
		r := blue
		if i%2 == 0 {
			r = green
		}
		must(t, p.Upsert(ctx, r))
	}
	close(stop)
	wg.Wait()
	// A marker command ends the monitored stream deterministically.
	must(t, rdb.Echo(ctx, "end-of-test").Err())
	log := mon.until(t, `"end-of-test"`)

	if len(mixed) > 0 {
		t.Errorf("%d of %d snapshots saw a half-written route, e.g. %q", len(mixed), reads.Load(), mixed[0])
	}
	t.Logf("%d atomic snapshots during %d switches, none mixed", reads.Load(), switches)
	execs := checkMonitor(t, log)
	if execs != switches {
		t.Errorf("%d MULTI/EXEC blocks for %d switches, want one each", execs, switches)
	}
}

// checkMonitor fails on any write to Traefik's keys or the ownership
// record outside a MULTI/EXEC of the same client, and returns the number
// of EXECs that wrote a route.
func checkMonitor(t *testing.T, log []string) int {
	t.Helper()
	inTx := map[string]bool{}  // client address -> between MULTI and EXEC
	wrote := map[string]bool{} // client address -> this transaction wrote
	execs := 0
	for _, line := range log {
		// 1700000000.000000 [0 127.0.0.1:5555] "MSET" "k" "v" ...
		open, end := strings.Index(line, "["), strings.Index(line, "]")
		if open < 0 || end < open {
			continue
		}
		who := line[open+1 : end]
		fields := strings.Fields(line[end+1:])
		if len(fields) == 0 {
			continue
		}
		cmd := strings.ToUpper(strings.Trim(fields[0], `"`))
		switch cmd {
		case "MULTI":
			inTx[who] = true
		case "EXEC":
			if wrote[who] {
				execs++
			}
			inTx[who], wrote[who] = false, false
		case "SET", "MSET", "DEL", "HSET", "HDEL", "UNLINK", "EXPIRE":
			if !strings.Contains(line, `"traefik/`) && !strings.Contains(line, `"tinyforge:`) {
				continue
			}
			if !inTx[who] {
				t.Errorf("write outside MULTI/EXEC: %s", line)
			}
			wrote[who] = true
		}
	}
	return execs
}

// monitorConn is a raw MONITOR connection: every command Redis executes
// arrives as one "+<time> [<db> <client>] "CMD" ..." line.
type monitorConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func monitor(t *testing.T, addr string) *monitorConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	m := &monitorConn{conn: c, r: bufio.NewReaderSize(c, 1<<20)}
	_, err = c.Write([]byte("MONITOR\r\n"))
	must(t, err)
	if ok, err := m.r.ReadString('\n'); err != nil || strings.TrimSpace(ok) != "+OK" {
		t.Fatalf("MONITOR: %q %v", ok, err)
	}
	return m
}

// until returns the lines read up to and including the first containing marker.
func (m *monitorConn) until(t *testing.T, marker string) []string {
	t.Helper()
	must(t, m.conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	var out []string
	for {
		line, err := m.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading MONITOR after %d lines: %v", len(out), err)
		}
		out = append(out, strings.TrimSpace(line))
		if strings.Contains(line, marker) {
			return out
		}
	}
}
