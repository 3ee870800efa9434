package swarm

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestPrivateEngine: a private engine starts in its own namespace, makes a
// swarm there, and leaves nothing behind: no namespace, interface,
// process or directory of its run.
func TestPrivateEngine(t *testing.T) {
	var e *testsvc.PrivateEngine
	var dir string
	t.Run("up", func(t *testing.T) {
		start := time.Now()
		e = testsvc.NewPrivateEngine(t)
		t.Logf("MEASURED: private engine up in %s", time.Since(start).Round(10*time.Millisecond))
		start = time.Now()
		e.InitSwarm(t)
		t.Logf("MEASURED: swarm init in %s", time.Since(start).Round(10*time.Millisecond))
		info, err := e.Client.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !info.Swarm.ControlAvailable {
			t.Fatalf("private engine is not a swarm manager: %+v", info.Swarm)
		}
		main := testsvc.Docker(t)
		mi, err := main.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if mi.Swarm.NodeID == info.Swarm.NodeID {
			t.Fatalf("the shared engine is the private swarm's node")
		}
		dir = e.Dir
	})
	if e == nil {
		return
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), e.Name) {
		t.Errorf("namespace %s left: %s", e.Name, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory %s left (%v)", dir, err)
	}
	links, _ := exec.Command("ip", "-o", "link").Output()
	if strings.Contains(string(links), "tp"+testsvc.RunID) {
		t.Errorf("interfaces left: %s", links)
	}
}
