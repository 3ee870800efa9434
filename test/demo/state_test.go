package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/tinyforge/tinyforge/deployer"
)

// apiToken is the management API token the demo gives its sidecar.
const apiToken = "demo-api-token"

// state is what the checks learned, kept across sections.
type state struct {
	byTag      map[string]ctr    // the container that served each tag last
	digests    map[string]string // each tag's digest, from the history
	ids        []string          // deploy ids the demo printed, in order
	controller map[string]string // the controller's tinyforge.* labels
	labels     map[string]string // those no "label" line has shown yet
	line       int               // deploy lines of the history checked so far
	counted    labelled          // what carried the demo's label at the last checkpoint

	// The snapshot taken at the current checkpoint, before its lines are
	// checked.
	events []deployer.Event // history, newest first
	now    []ctr            // the workload's containers
	body   string           // what Caddy answers for the workload
	window hammerWindow     // the test's own client since the previous checkpoint
}

func newState() *state {
	return &state{byTag: map[string]ctr{}, digests: map[string]string{}}
}

// ctr is one workload container as Docker lists it.
type ctr struct {
	ID, Name, Tag, State string
}

// snapshot reads the real state the current section's lines speak of.
func (d *demo) snapshot() {
	s := d.state
	s.events = d.deploys()
	s.now = d.containers()
	s.body, _ = d.get()
	if d.testClient != nil {
		s.window = d.testClient.take()
	}
	s.counted = d.labelled(d.t, false)
}

// deploys is the workload's history from the sidecar's API, newest first.
func (d *demo) deploys() []deployer.Event {
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.sidecar+"/v1/workloads/"+d.name+"/deploys", nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Errorf("GET deploys: %v", err)
		return nil
	}
	defer resp.Body.Close()
	var out struct{ Deploys []deployer.Event }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		d.t.Errorf("GET deploys: %s, %v", resp.Status, err)
	}
	return out.Deploys
}

// containers are the workload's containers, newest first.
func (d *demo) containers() []ctr {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := d.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", "tinyforge.workload="+d.name), filters.Arg("label", demoLabel+"="+d.name))})
	if err != nil {
		d.t.Errorf("list the workload's containers: %v", err)
	}
	var out []ctr
	for _, c := range cs {
		out = append(out, ctr{ID: c.ID, Name: strings.TrimPrefix(c.Names[0], "/"), Tag: c.Labels["tinyforge.tag"], State: c.State})
	}
	return out
}

// exists reports whether a container with this id exists.
func (d *demo) exists(id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := d.docker.ContainerInspect(ctx, id)
	return err == nil
}

var noKeepAlive = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// get is what Caddy answers for the workload's host: body and status.
func (d *demo) get() (string, int) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.caddyHTTP+"/", nil)
	req.Host = d.name + ".localhost"
	resp, err := noKeepAlive.Do(req)
	if err != nil {
		return "error: " + err.Error(), 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// httpOK reports whether GET url answers 200.
func httpOK(url string) error {
	resp, err := noKeepAlive.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// redisPing sends PING to the Redis at addr and wants +PONG.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || l != "+PONG\r\n" {
		return fmt.Errorf("PING: %q, %v", l, err)
	}
	return nil
}

// hammer is the test's own client: it requests the workload through
// Caddy without pause, like the demo's, from the first deploy to the
// rollback, so a failure the demo's count missed is still seen.
type hammer struct {
	mu     sync.Mutex
	win    hammerWindow
	all    []string // every failure
	cancel context.CancelFunc
	done   chan struct{}
}

// hammerWindow counts answers by body, and failures.
type hammerWindow struct {
	bodies map[string]int
	failed []string
}

func (d *demo) startHammer() *hammer {
	ctx, cancel := context.WithCancel(context.Background())
	h := &hammer{cancel: cancel, done: make(chan struct{}), win: hammerWindow{bodies: map[string]int{}}}
	go func() {
		defer close(h.done)
		for ctx.Err() == nil {
			body, code := d.get()
			h.mu.Lock()
			if code == http.StatusOK {
				h.win.bodies[body]++
			} else {
				f := fmt.Sprintf("%s: %d %q", time.Now().Format("15:04:05.000"), code, body)
				h.win.failed = append(h.win.failed, f)
				h.all = append(h.all, f)
			}
			h.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return h
}

// take returns the answers since the previous take.
func (h *hammer) take() hammerWindow {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.win
	h.win = hammerWindow{bodies: map[string]int{}}
	return w
}

func (h *hammer) stop() { h.cancel(); <-h.done }

func (h *hammer) failed() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.all) }

func (h *hammer) failures() []string { h.mu.Lock(); defer h.mu.Unlock(); return h.all }
