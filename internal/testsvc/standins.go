package testsvc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

var standinSeq atomic.Int64

// Standins builds the offline stand-ins of the images the compose files
// name (root/scripts/standin-images.sh: Redis, Caddy, the registry, the
// socket proxy, from Debian's packages) on cli's engine and returns their
// variables (REDIS_IMAGE=ref, ...). Each call tags them privately (this
// process's RunID and a sequence number) and labels them with the run, so
// packages running at once never remove each other's images; its tags are
// removed when the test ends. TINYFORGE_KEEP_STANDINS=1 uses the shared
// content-hash tags instead and keeps them, as a cache for the next run.
func Standins(t testing.TB, cli *client.Client, root string) map[string]string {
	t.Helper()
	for _, bin := range []string{"redis-server", "caddy", "docker-registry", "haproxy"} {
		if _, err := exec.LookPath(bin); err != nil && !(bin == "haproxy" && fileExists("/usr/sbin/haproxy")) {
			Unavailable(t, "%s is missing: scripts/install-deps.sh installs it", bin)
		}
	}
	keep := os.Getenv("TINYFORGE_KEEP_STANDINS") == "1"
	root, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "standin-images.sh"))
	cmd.Dir = root
	cmd.Env = os.Environ()
	if !keep {
		cmd.Env = append(cmd.Env, fmt.Sprintf("STANDIN_TAG=%s-%d", RunID, standinSeq.Add(1)),
			"STANDIN_LABELS="+RunLabel+"="+RunID)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/standin-images.sh: %v\n%s", err, stderr.String())
	}
	vars := map[string]string{}
	for _, kv := range strings.Fields(string(out)) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	if !keep {
		t.Cleanup(func() {
			for _, ref := range vars {
				removeRef(t, cli, ref)
			}
		})
	}
	return vars
}

// removeRef removes one tag (the image goes with its last tag).
func removeRef(t testing.TB, cli *client.Client, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
		t.Logf("remove image %s: %v", ref, err)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// MakeImage runs `make image` in root into a private tag (name:RunID),
// binary and build context (the tracked bin/ is left alone), labelled
// with the run, and removes the image when the test ends.
func MakeImage(t testing.TB, cli *client.Client, root, name string) string {
	t.Helper()
	ref := name + ":" + RunID
	tmp := t.TempDir()
	cmd := exec.Command("make", "image", "IMAGE="+ref, "BIN="+filepath.Join(tmp, "tinyforge"), "IMAGE_CTX="+filepath.Join(tmp, "ctx"),
		"IMAGE_FLAGS=--label "+RunLabel+"="+RunID)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() { removeRef(t, cli, ref) })
	return ref
}
