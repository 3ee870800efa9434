package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// TestWatchRollsBackADyingContainer kills the new container right after
// the switch, inside the post-switch watch: the Docker die event sends the
// routes back to the old container, which was kept running for exactly
// this, and the deploy is recorded as rolled back.
func TestWatchRollsBackADyingContainer(t *testing.T) {
	s := newStackServices(t, testsvc.Redis(t).URL)
	p := s.launch(procOpts{args: []string{"--watch", "10s"}})
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	eventually(t, 30*time.Second, "v1 deploy finished", func() bool { return len(s.deploys(p.url)) == 1 })

	s.push("v2")
	s.waitServed("v2", 60*time.Second)
	var v2 string
	for _, c := range s.workloadContainers(false) {
		if c.Labels[labels.ManagedTag] == "v2" {
			v2 = c.ID
		}
	}
	if len(s.workloadContainers(false)) != 2 || v2 == "" {
		t.Fatalf("during the watch: containers %v, want v1 still running beside v2", tags(s.workloadContainers(true)))
	}
	killed := time.Now()
	if err := s.cli.ContainerKill(context.Background(), v2, "KILL"); err != nil {
		t.Fatal(err)
	}
	s.waitServed("v1", 15*time.Second)
	t.Logf("new container killed -> old one served again in %s", time.Since(killed).Round(10*time.Millisecond))
	s.waitContainers(1)
	if cs := s.workloadContainers(true); cs[0].Labels[labels.ManagedTag] != "v1" {
		t.Fatalf("container left: %v, want v1", tags(cs))
	}
	// The deploy is recorded once it has cleaned up after itself, so the
	// record may come a moment after its container is gone.
	var last deployer.Event
	eventually(t, 10*time.Second, "v2 recorded as rolled back", func() bool {
		last = s.deploys(p.url)[0]
		return last.Tag == "v2" && strings.HasPrefix(last.Outcome, deployer.OutcomeRolledBack)
	})
	t.Logf("history: %s", last.Outcome)
}
