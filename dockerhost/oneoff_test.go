package dockerhost_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestOneOffRunsToCompletion runs release commands on the real engine: a
// one-off container is never restarted, Wait returns its exit code (at
// once when it has already exited), Output keeps the end of what it
// wrote, and a wait cut short by its context says so. The policy checks
// of Create apply to one-offs too.
func TestOneOffRunsToCompletion(t *testing.T) {
	cli, h := newHost(t)
	ctx := ctxFor(t, 2*time.Minute)
	img := "tinyforge-test-" + testsvc.RunID + "/app:oneoff"
	testsvc.BuildImage(t, cli, img, map[string]string{"APP_VERSION": "v9"})
	lbls := map[string]string{testsvc.RunLabel: testsvc.RunID}
	run := func(suffix string, env ...string) string {
		t.Helper()
		// The image's ENTRYPOINT is /app: the command is its arguments.
		id, err := h.Create(ctx, deployer.ContainerSpec{Name: name(t, suffix), Image: img, Network: "bridge", Labels: lbls,
			Cmd: []string{"-release", "-print", "DB"}, Env: env, OneOff: true, PidsLimit: 64})
		if err != nil {
			t.Fatalf("create one-off: %v", err)
		}
		t.Cleanup(func() { _ = h.Remove(context.Background(), id) })
		if err := h.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		return id
	}

	failing := run("fail", "DB=db:5432", "RELEASE_EXIT=3")
	code, err := h.Wait(ctx, failing)
	if err != nil || code != 3 {
		t.Fatalf("Wait = %d, %v; want exit 3", code, err)
	}
	raw, err := cli.ContainerInspect(ctx, failing)
	if err != nil {
		t.Fatal(err)
	}
	if raw.HostConfig.RestartPolicy.Name != container.RestartPolicyDisabled || raw.State.Running || raw.RestartCount != 0 {
		t.Fatalf("one-off restart policy %q, running %v, restarts %d; want never restarted",
			raw.HostConfig.RestartPolicy.Name, raw.State.Running, raw.RestartCount)
	}
	if code, err := h.Wait(ctx, failing); err != nil || code != 3 {
		t.Fatalf("Wait on an exited container = %d, %v; want 3 at once", code, err)
	}
	// stdout and stderr are two streams: Docker keeps the order within
	// each, not how they interleave.
	out, err := h.Output(ctx, failing, 4096)
	stdout, stderr := []string{"release of v9", "DB=db:5432"}, []string{"release failed: exit 3"}
	if err != nil || !testsvc.Interleaved(out, stdout, stderr) {
		t.Fatalf("Output = %q, %v; want the lines of stdout %q and stderr %q, each in order", out, err, stdout, stderr)
	}
	out, err = h.Output(ctx, failing, 30)
	if kept, cut := strings.CutPrefix(out, "[earlier output cut]\n"); err != nil || !cut || len(kept) > 30 || !strings.HasSuffix(out, "\n") ||
		!strings.Contains(out, "exit 3") && !strings.Contains(out, "DB=db:5432") {
		t.Fatalf("Output with a 30-byte limit = %q, %v; want the last whole lines of at most 30 bytes after a cut note", out, err)
	}

	hanging := run("hang", "RELEASE_SLEEP=1m")
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if code, err := h.Wait(wctx, hanging); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait past its context = %d, %v; want the deadline", code, err)
	}
	if err := h.Remove(ctx, hanging); err != nil {
		t.Fatalf("remove a running one-off: %v", err)
	}

	_, err = h.Create(ctx, deployer.ContainerSpec{Name: name(t, "unsafe"), Image: img, Network: "host", Labels: lbls, OneOff: true})
	if !errors.Is(err, dockerhost.ErrUnsafe) || !strings.Contains(err.Error(), "network mode") {
		t.Fatalf("one-off on the host network: %v, want ErrUnsafe", err)
	}
}
