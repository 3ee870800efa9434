package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/labelsig"
)

// keyFile writes a fresh 256-bit key as 64 hex characters, with an
// optional "scope:" prefix, and returns its path.
func keyFile(t *testing.T, prefix string) (path, hexKey string) {
	hexKey = randomHex(t, 32)
	path = filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(prefix+hexKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, hexKey
}

// trustStatus is the part of GET /v1/workloads these tests read.
type trustStatus struct {
	Workloads map[string]struct {
		Routes        []deployer.Route        `json:"routes"`
		HostConflicts []deployer.HostConflict `json:"host_conflicts"`
	} `json:"workloads"`
	Problems   map[string][]string   `json:"problems"`
	Unverified []deployer.Unverified `json:"unverified"`
}

func (s *stack) trust(base string) trustStatus {
	s.t.Helper()
	var st trustStatus
	if code := s.apiAt(base, http.MethodGet, "/v1/workloads", &st); code != http.StatusOK {
		s.t.Fatalf("GET /v1/workloads: %d", code)
	}
	return st
}

// startImpostor starts, by hand, a container carrying every label of the
// real one (tinyforge.managed, the workload, its digest, even its
// signature) on the workload network, answering "evil".
func (s *stack) startImpostor(real container.Summary) string {
	t := s.t
	ctx := context.Background()
	lbls := map[string]string{}
	for k, v := range real.Labels {
		lbls[k] = v
	}
	resp, err := s.cli.ContainerCreate(ctx,
		&container.Config{Image: real.ImageID, Labels: lbls, Env: []string{"APP_VERSION=evil"}},
		&container.HostConfig{}, &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.network: {}}},
		nil, "tf-e2e-impostor-"+s.workload)
	if err != nil {
		t.Fatalf("create impostor: %v", err)
	}
	t.Cleanup(func() { s.removeContainer(resp.ID) })
	if err := s.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start impostor: %v", err)
	}
	return resp.ID
}

// TestImpostorIsNeverRouted (issue 15, finding 3): a container started by
// hand with the victim's managed labels is never adopted nor routed, not
// when Redis is flushed, not when the real container is gone too, and it
// is reported as unverified.
func TestImpostorIsNeverRouted(t *testing.T) {
	redis := startRedis(t)
	s := newStackServices(t, redis.url())
	rc := s.redisClient()
	key, _ := keyFile(t, "")
	p := s.launch(procOpts{env: []string{"TINYFORGE_SECRET_KEY_FILE=" + key}})
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	s.waitConverged(p.url, rc, "v1", 30*time.Second)
	real := s.workloadContainers(false)[0]
	if real.Labels[labels.ManagedSignature] == "" {
		t.Fatal("the sidecar's container carries no tinyforge.identity signature")
	}
	evil := s.startImpostor(real)

	neverEvil := func(within time.Duration) {
		client := &http.Client{Timeout: time.Second}
		for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if _, body, err := s.get(client, "/"); err == nil && body == "evil" {
				t.Fatal("Caddy served the impostor")
			}
			for _, r := range s.trust(p.url).Workloads[s.workload].Routes {
				if r.Container == evil {
					t.Fatalf("route %s points at the impostor", r.ID)
				}
			}
		}
	}

	if err := rc.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "routes rebuilt on the real container", func() bool {
		rs := s.trust(p.url).Workloads[s.workload].Routes
		return len(rs) > 0 && rs[0].Container == real.ID
	})
	neverEvil(3 * time.Second)
	var un []deployer.Unverified
	eventually(t, 10*time.Second, "impostor reported as unverified", func() bool {
		un = s.trust(p.url).Unverified
		return len(un) == 1 && un[0].ID == evil
	})
	t.Logf("reported: %+v", un[0])
	if un[0].Workload != s.workload || !strings.Contains(un[0].Problem, "signature") {
		t.Errorf("unverified = %+v, want the victim's name and a signature problem", un[0])
	}

	// The real container goes and Redis is flushed again: still nothing
	// routes to the impostor, and the impostor is left alone.
	s.removeContainer(real.ID)
	if err := rc.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	neverEvil(5 * time.Second)
	if _, err := s.cli.ContainerInspect(context.Background(), evil); err != nil {
		t.Fatalf("the impostor was removed by the sidecar: %v", err)
	}
	if n := p.logged(func(l logLine) bool { return strings.Contains(l.Message, "not signed by this sidecar's identity key") }); n != 1 {
		t.Errorf("%d log lines about the impostor, want 1", n)
	}
}

// thiefImage commits the stack's base image as repo:tag answering version,
// and pushes it.
func (s *stack) thiefImage(repo, tag, version string) {
	ctx := context.Background()
	ref := repo + ":" + tag
	c, err := s.cli.ContainerCreate(ctx, &container.Config{Image: s.base}, nil, nil, nil, "")
	if err != nil {
		s.t.Fatalf("create for commit: %v", err)
	}
	defer s.removeContainer(c.ID)
	img, err := s.cli.ContainerCommit(ctx, c.ID, container.CommitOptions{Reference: ref,
		Changes: []string{"ENV APP_VERSION=" + version, "LABEL " + testsvc.RunLabel + "=" + testsvc.RunID}})
	if err != nil {
		s.t.Fatalf("commit %s: %v", ref, err)
	}
	s.mu.Lock()
	s.versions = append(s.versions, [2]string{img.ID, ref})
	s.mu.Unlock()
	testsvc.Push(s.t, s.cli, ref)
}

// TestHostBelongsToItsFirstWorkload (issue 15, finding 1): a second
// workload whose face names the first one's host deploys with its other
// faces only; the owner keeps serving, its route untouched, and the
// refusal names both workloads in the API, the log and `tinyforge labels
// check --live`, which also reports a face asking for the hooks host.
func TestHostBelongsToItsFirstWorkload(t *testing.T) {
	s := newStackWith(t, stackOptions{args: func(*stack) []string { return []string{"--hooks-host", "hooks.e2e.test"} }})
	s.startController("owner", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)

	thief := s.workload + "t"
	thiefRepo := s.registry.Ref("e2e-" + s.workload + "/thief")
	w := "tinyforge.workloads." + thief + "."
	s.startController("thief", map[string]string{
		labels.Enable: "true", labels.Scope: s.scope, testsvc.RunLabel: testsvc.RunID,
		w + "image": thiefRepo, w + "port": "8080", w + "healthcheck": "/health",
		w + "faces.steal.subdomain": s.workload, // the owner's host
		w + "faces.own.subdomain":   thief,
	})
	t.Cleanup(func() { // before the stack removes the network and the images
		f := filters.NewArgs(filters.Arg("label", labels.ManagedWorkload+"="+thief))
		cs, _ := s.cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: f})
		for _, c := range cs {
			s.removeContainer(c.ID)
		}
	})
	s.thiefImage(thiefRepo, "t1", "thief")

	client := &http.Client{Timeout: 2 * time.Second}
	eventually(t, 60*time.Second, "the thief's own face served", func() bool {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.caddy.HTTPAddr+"/", nil)
		req.Host = thief + ".e2e.test"
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body) // Caddy answers 200 and nothing for a host it does not route
		return resp.StatusCode == 200 && string(body) == "thief"
	})
	for range 20 {
		if code, body, err := s.get(client, "/"); err != nil || code != 200 || body != "v1" {
			t.Fatalf("owner's host answered %d %q %v, want v1", code, body, err)
		}
	}
	st := s.trust(s.sidecarURL)
	for _, r := range st.Workloads[thief].Routes {
		if r.Host == s.host {
			t.Fatalf("the thief holds a route for the owner's host: %+v", r)
		}
	}
	got := st.Workloads[thief].HostConflicts
	if len(got) != 1 || got[0].Face != "steal" || got[0].Host != s.host || got[0].Owner != "workload "+s.workload {
		t.Fatalf("host_conflicts of %s = %+v, want face steal refused, owned by %s", thief, got, s.workload)
	}
	if rs := st.Workloads[s.workload].Routes; len(rs) != 1 || rs[0].Workload != s.workload {
		t.Fatalf("owner's routes = %+v", rs)
	}
	logged, _ := os.ReadFile(s.logPath)
	if !strings.Contains(string(logged), `"owner":"workload `+s.workload+`"`) || !strings.Contains(string(logged), "face refused") {
		t.Errorf("no log line names the refused face and its owner")
	}
	s.labelsCheckLive(thief)
}

// labelsCheckLive runs `tinyforge labels check --live` (the sidecar at
// TINYFORGE_URL, with TINYFORGE_API_TOKEN) on the controllers of
// TestHostBelongsToItsFirstWorkload, and on a compose file asking for the
// reserved hooks host.
func (s *stack) labelsCheckLive(thief string) {
	t := s.t
	out, errOut, code := s.run(t, "labels", "check", "--live", "tf-e2e-ctl-"+s.workload+"-thief")
	t.Logf("labels check --live of the thief's controller: exit %d\n%s%s", code, out, errOut)
	want := "host " + s.host + " belongs to workload " + s.workload + " on the sidecar at " + s.sidecarURL + ": this face of workload " + thief + " would be refused"
	if code != 1 || !strings.Contains(out, want) || strings.Contains(out, "faces.own:") {
		t.Errorf("labels check --live of the thief: exit %d, want 1 and only %q", code, want)
	}
	if out, errOut, code := s.run(t, "labels", "check", "--live", "tf-e2e-ctl-"+s.workload+"-owner"); code != 0 {
		t.Errorf("labels check --live of the owner: exit %d, want 0\n%s%s", code, out, errOut)
	}
	compose := "services:\n  ctl:\n    image: x\n    labels:\n      tinyforge.enable: \"true\"\n" +
		"      tinyforge.workloads.newcomer.image: reg.test/newcomer\n      tinyforge.workloads.newcomer.port: \"8080\"\n" +
		"      tinyforge.workloads.newcomer.faces.edge.subdomain: hooks\n"
	cmd := s.cliCmd(t, "labels", "check", "--live", "-")
	cmd.Stdin = strings.NewReader(compose)
	b, err := cmd.CombinedOutput()
	t.Logf("labels check --live of a face asking for the hooks host: %v\n%s", err, b)
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(b), "host hooks.e2e.test is reserved by the sidecar") ||
		!strings.Contains(string(b), "stdin:8") {
		t.Errorf("labels check --live of the hooks host: exit %d, want 1 naming the reserved host at stdin:8", cmd.ProcessState.ExitCode())
	}
	// A sidecar that refuses the token: the check could not be made.
	cmd = s.cliCmd(t, "labels", "check", "--live", "-")
	cmd.Env = append(cmd.Env, "TINYFORGE_API_TOKEN=wrong")
	cmd.Stdin = strings.NewReader(compose)
	if b, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(b), "401") {
		t.Errorf("labels check --live with a wrong token: exit %d, want 2\n%s", cmd.ProcessState.ExitCode(), b)
	}
}

// TestConflictRemovesNothing (issue 15, finding 6): a second controller
// declaring the workload differently, with --teardown-orphans and a tiny
// grace, removes nothing, even across a sidecar restart during the
// conflict; the routes still serve and the conflict is reported.
func TestConflictRemovesNothing(t *testing.T) {
	s := newStackWith(t, stackOptions{args: func(*stack) []string {
		return []string{"--teardown-orphans", "--orphan-grace", "500ms"}
	}})
	s.startController("a", s.controllerLabels(nil))
	eventually(t, 10*time.Second, "workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	first := s.workloadContainers(false)[0]

	w := "tinyforge.workloads." + s.workload + "."
	s.startController("b", s.controllerLabels(map[string]string{w + "healthTimeout": "9s"}))
	eventually(t, 10*time.Second, "conflict reported", func() bool {
		return strings.Contains(strings.Join(s.status().Problems["tf-e2e-ctl-"+s.workload+"-b"], "\n"), "declared differently")
	})
	stays := func(within time.Duration) {
		client := &http.Client{Timeout: 2 * time.Second}
		for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			if code, body, err := s.get(client, "/"); err != nil || code != 200 || body != "v1" {
				t.Fatalf("during the conflict: %d %q %v, want v1 served", code, body, err)
			}
		}
		cs := s.workloadContainers(true)
		if len(cs) != 1 || cs[0].ID != first.ID || cs[0].State != "running" {
			t.Fatalf("containers during the conflict = %v, want %s running", tags(cs), first.ID[:12])
		}
	}
	stays(4 * time.Second) // 8 graces, 4 reconcile passes

	// A sidecar started during the conflict knows no agreed declaration.
	_ = s.proc.Process.Signal(os.Interrupt)
	_ = s.proc.Wait()
	s.startSidecar(s.redisURL, s.port, s.webhookToken)
	eventually(t, 10*time.Second, "conflict reported after the restart", func() bool {
		return strings.Contains(strings.Join(s.status().Problems["tf-e2e-ctl-"+s.workload+"-b"], "\n"), "refused until they agree")
	})
	stays(4 * time.Second)
	logged, _ := os.ReadFile(s.logPath)
	if strings.Contains(string(logged), "workload orphaned") || strings.Contains(string(logged), "torn down") {
		t.Errorf("the workload in conflict was orphaned or torn down")
	}
}

// TestOnlySignedControllersAreObeyed (issue 15, finding 5): with
// --controller-key-file, a signed controller deploys; an unsigned one
// declaring the same workload differently is not obeyed (no conflict,
// nothing changes) and is reported.
func TestOnlySignedControllersAreObeyed(t *testing.T) {
	keys, hexKey := keyFile(t, "team-a:")
	s := newStackWith(t, stackOptions{args: func(*stack) []string { return []string{"--controller-key-file", keys} }})
	key, err := labelsig.ParseControllerKey("team-a:" + hexKey)
	if err != nil {
		t.Fatal(err)
	}
	signed := s.controllerLabels(nil)
	signed[labels.Signature] = labelsig.SignController(key.Secret, signed)
	s.startController("signed", signed)
	eventually(t, 10*time.Second, "signed workload declared", func() bool { return s.status().Declared })
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	first := s.workloadContainers(false)[0]
	if first.Labels[labels.ManagedKeyScope] != "team-a" {
		t.Fatalf("container key scope = %q, want team-a", first.Labels[labels.ManagedKeyScope])
	}

	w := "tinyforge.workloads." + s.workload + "."
	s.startController("forged", s.controllerLabels(map[string]string{w + "port": "9999", labels.Signature: signed[labels.Signature]}))
	eventually(t, 10*time.Second, "forged controller reported", func() bool {
		return strings.Contains(strings.Join(s.status().Problems["tf-e2e-ctl-"+s.workload+"-forged"], "\n"), "controller not obeyed")
	})
	time.Sleep(2 * time.Second)
	st := s.status()
	if !st.Declared || strings.Contains(strings.Join(st.Problems["tf-e2e-ctl-"+s.workload+"-signed"], "\n"), "declared differently") {
		t.Fatalf("the forged controller changed the declaration: %v", st.Problems)
	}
	if cs := s.workloadContainers(true); len(cs) != 1 || cs[0].ID != first.ID {
		t.Fatalf("containers = %v, want %s alone", tags(cs), first.ID[:12])
	}
	s.waitServed("v1", 5*time.Second)
}
