// Package image checks the container image `make image` builds: FROM
// scratch, a non-root numeric user, a HEALTHCHECK running `tinyforge
// health`, and a static binary that runs in it.
package image

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

func TestMakeImage(t *testing.T) {
	cli := testsvc.Docker(t)
	testsvc.LookBinary(t, "docker")
	testsvc.LookBinary(t, "make")
	root := repoRoot(t)
	tmp := t.TempDir()
	ref := "tinyforge-test-" + testsvc.RunID + ":image"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove %s: %v", ref, err)
		}
	})

	start := time.Now()
	cmd := exec.Command("make", "image",
		"BIN="+filepath.Join(tmp, "tinyforge"), "IMAGE_CTX="+filepath.Join(tmp, "ctx"),
		"IMAGE="+ref, "IMAGE_FLAGS=--label "+testsvc.RunLabel+"="+testsvc.RunID)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Logf("make image: %s", time.Since(start).Round(time.Millisecond))
	if bin, err := elf.Open(filepath.Join(tmp, "tinyforge")); err != nil {
		t.Errorf("read the built binary: %v", err)
	} else {
		if bin.Section(".symtab") != nil {
			t.Error("the image's binary has a symbol table: make image must build it stripped (-ldflags -s -w)")
		}
		bin.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	c := in.Config
	if c.User != "65532:65532" {
		t.Errorf("User = %q, want the non-root 65532:65532", c.User)
	}
	if c.Healthcheck == nil || !slices.Equal(c.Healthcheck.Test, []string{"CMD", "/tinyforge", "health"}) {
		t.Errorf("Healthcheck = %+v, want CMD /tinyforge health", c.Healthcheck)
	}
	if !slices.Equal(c.Entrypoint, []string{"/tinyforge"}) || !slices.Equal(c.Cmd, []string{"sidecar"}) {
		t.Errorf("Entrypoint %v Cmd %v", c.Entrypoint, c.Cmd)
	}
	if n := len(in.RootFS.Layers); n != 2 {
		t.Errorf("%d layers, want 2 (CA roots and the binary, FROM scratch)", n)
	}
	t.Logf("image %s: %d bytes, user %s, healthcheck %v", ref, in.Size, c.User, c.Healthcheck.Test)

	// The static binary runs in the empty image, as that user.
	run := func(args ...string) (int, string) {
		cmd := exec.Command("docker", append([]string{"run", "--rm", "--label", testsvc.RunLabel + "=" + testsvc.RunID, ref}, args...)...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := run("help"); code != 0 || !strings.Contains(out, "usage: tinyforge") {
		t.Errorf("tinyforge help in the image: exit %d: %s", code, out)
	}
	// make image stamps the version and commit (-ldflags -X) into a stripped binary.
	commit, _ := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if code, out := run("version"); code != 0 || !strings.Contains(out, "(commit "+strings.TrimSpace(string(commit))+", go1.") {
		t.Errorf("tinyforge version in the image: exit %d: %q, want the commit %s and the Go version", code, out, commit)
	}
	if code, out := run("health", "--health-timeout", "2s"); code != 1 || !strings.Contains(out, "connection refused") {
		t.Errorf("tinyforge health with no sidecar: exit %d: %s (want 1, connection refused)", code, out)
	}
	if code, out := run("sidecar", "--network", "host"); code != 2 || !strings.Contains(out, `--network "host"`) {
		t.Errorf("sidecar --network host in the image: exit %d: %s (want 2)", code, out)
	}
}

// repoRoot is the directory of go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not in a module")
	}
	return filepath.Dir(gomod)
}
