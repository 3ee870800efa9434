package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/labels"
)

// TestLabelsDriveTheWorkload changes a running controller's labels the way
// compose does (remove and recreate the container) and checks each kind of
// change: runtime config redeploys blue-green, faces re-route, a bad label
// is reported without disturbing the good workload, and a workload whose
// labels disappear is orphaned (not torn down) until the API tears it down.
func TestLabelsDriveTheWorkload(t *testing.T) {
	s := newStack(t)
	w := "tinyforge.workloads." + s.workload + "."
	ctl := s.startController("v1", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	first := s.workloadContainers(false)[0]

	t.Run("env change redeploys the running image", func(t *testing.T) {
		s.removeContainer(ctl)
		recreated := time.Now()
		ctl = s.startController("v2", s.controllerLabels(map[string]string{w + "env.MODE": "fast"}))
		var next string
		eventually(t, 30*time.Second, "a new container with the new config", func() bool {
			for _, c := range s.workloadContainers(true) {
				if c.ID != first.ID {
					next = c.ID
					return true
				}
			}
			return false
		})
		t.Logf("controller recreated -> new container created: %s", time.Since(recreated).Round(time.Millisecond))
		s.waitContainers(1)
		info, err := s.cli.ContainerInspect(context.Background(), next)
		if err != nil {
			t.Fatal(err)
		}
		if !hasEnv(info.Config.Env, "MODE=fast") || info.Config.Labels[labels.ManagedTag] != "v1" {
			t.Fatalf("new container env %v tag %q, want MODE=fast on v1", info.Config.Env, info.Config.Labels[labels.ManagedTag])
		}
		s.waitServed("v1", 10*time.Second)
		first = s.workloadContainers(false)[0]
	})

	t.Run("face change re-routes without a new container", func(t *testing.T) {
		s.removeContainer(ctl)
		recreated := time.Now()
		ctl = s.startController("v3", s.controllerLabels(map[string]string{
			w + "env.MODE":            "fast",
			w + "faces.www.subdomain": "shop-" + s.workload,
		}))
		oldHost := s.host
		s.host = "shop-" + s.workload + ".e2e.test"
		s.waitServed("v1", 10*time.Second)
		t.Logf("controller recreated -> new face served: %s", time.Since(recreated).Round(time.Millisecond))
		if cs := s.workloadContainers(true); len(cs) != 1 || cs[0].ID != first.ID {
			t.Fatalf("containers after a face change: %v, want still %s", tags(cs), first.ID[:12])
		}
		s.host = oldHost
		eventually(t, 5*time.Second, "old host unrouted", func() bool {
			_, body, err := s.get(http.DefaultClient, "/")
			return err == nil && body != "v1"
		})
		s.host = "shop-" + s.workload + ".e2e.test"
	})

	t.Run("a bad label is reported and the good workload keeps deploying", func(t *testing.T) {
		s.removeContainer(ctl)
		bad := "tinyforge.workloads.broken" + s.workload + "."
		ctl = s.startController("v4", s.controllerLabels(map[string]string{
			w + "env.MODE":            "fast",
			w + "faces.www.subdomain": "shop-" + s.workload,
			bad + "image":             s.repo,
			bad + "port":              "80a",
		}))
		eventually(t, 10*time.Second, "label problem reported", func() bool {
			for _, ps := range s.status().Problems {
				for _, p := range ps {
					if strings.Contains(p, bad+`port: "80a"`) {
						return true
					}
				}
			}
			return false
		})
		s.push("v2")
		s.waitServed("v2", 60*time.Second)
		s.waitContainers(1) // the deploy ends after the watch and the old one's stop
	})

	t.Run("undeclared workload is orphaned, then torn down on request", func(t *testing.T) {
		s.removeContainer(ctl)
		eventually(t, 10*time.Second, "workload undeclared", func() bool { return !s.status().Declared })
		time.Sleep(2 * time.Second) // two reconcile passes: nothing may be torn down
		if cs := s.workloadContainers(false); len(cs) != 1 {
			t.Fatalf("running containers of an orphan = %d, want 1 (never torn down silently)", len(cs))
		}
		if code, body, _ := s.get(http.DefaultClient, "/"); code != 200 || body != "v2" {
			t.Fatalf("orphan no longer served: %d %q", code, body)
		}
		for range 2 { // idempotent
			if code := s.api(http.MethodDelete, "/v1/workloads/"+s.workload); code != http.StatusAccepted {
				t.Fatalf("DELETE answered %d, want 202", code)
			}
		}
		s.waitContainers(0)
		eventually(t, 5*time.Second, "route removed", func() bool {
			_, body, err := s.get(http.DefaultClient, "/")
			return err == nil && body != "v2"
		})
	})
}

func hasEnv(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}
