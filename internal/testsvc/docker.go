package testsvc

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/tinyforge/tinyforge/labels"
)

// RunLabel marks every container, network, image and volume a test
// creates; its value is RunID. Cleanup and Sweep find leftovers by it.
const RunLabel = "tf-test.run"

// sweepAge is how old another run's leftovers must be before Sweep removes
// them: old enough that the run is surely over, not merely running in parallel.
const sweepAge = 30 * time.Minute

var sweepOnce sync.Once

// Docker returns a client for the local Docker Engine, negotiating the API
// version (the engine here is 20.10, API 1.41) at once. An unreachable
// engine stops the test through Unavailable; under -short it is skipped.
// The first call in a process also sweeps leftovers of interrupted runs.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	SkipShort(t, "the Docker Engine")
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		Unavailable(t, "docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ping, err := cli.Ping(ctx)
	if err != nil {
		_ = cli.Close()
		Unavailable(t, "docker engine: %v", err)
	}
	// Negotiate before any concurrent use: left to the first request, it
	// races with methods that read the API version before sending.
	cli.NegotiateAPIVersionPing(ping)
	t.Cleanup(func() { _ = cli.Close() })
	sweepOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := Sweep(ctx, cli, sweepAge); err != nil {
			t.Logf("sweeping leftovers of old test runs: %v", err)
		}
	})
	return cli
}

var testApp struct {
	once sync.Once
	path string
	err  error
}

// BuildTestApp compiles test/testapp as a static binary (CGO_ENABLED=0),
// once per test process, and returns its path. The binary is what
// BuildImage puts in images; tests may also run it on the host.
func BuildTestApp(t testing.TB) string {
	t.Helper()
	testApp.once.Do(func() { testApp.path, testApp.err = buildTestApp() })
	if testApp.err != nil {
		t.Fatalf("build test/testapp: %v", testApp.err)
	}
	return testApp.path
}

func buildTestApp() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module (go env GOMOD = %q)", gomod)
	}
	// One directory per run, outside any test's TempDir because the binary
	// outlives the test that built it; old ones are removed by Sweep.
	dir := filepath.Join(os.TempDir(), "tinyforge-testapp-"+RunID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "testapp")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./test/testapp")
	cmd.Dir = filepath.Dir(gomod)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	return bin, nil
}

// ImageSpec describes a test image beyond its reference.
type ImageSpec struct {
	// Env becomes ENV lines (e.g. APP_VERSION, PORT, HEALTH).
	Env map[string]string
	// Healthcheck adds a HEALTHCHECK running `/app -probe /health` every second.
	Healthcheck bool
}

var buildSeq atomic.Int64

// buildLabel makes every build unique (see BuildImageSpec).
const buildLabel = "tf-test.build"

// BuildImage builds ref FROM scratch holding the testapp binary as /app,
// with one ENV line per entry of env, and removes it at cleanup. It returns
// the image id.
func BuildImage(t testing.TB, cli *client.Client, ref string, env map[string]string) string {
	t.Helper()
	return BuildImageSpec(t, cli, ref, ImageSpec{Env: env})
}

// BuildImageSpec is BuildImage with the options of ImageSpec.
//
// Each build gets a unique label, so two builds never share an image id and
// one test's cleanup (a forced removal by id, which also drops the tags a
// push and pull added) cannot delete another test's image.
func BuildImageSpec(t testing.TB, cli *client.Client, ref string, spec ImageSpec) string {
	t.Helper()
	bin := BuildTestApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	err := buildImage(ctx, cli, bin, ref, spec)
	if err != nil && strings.Contains(err.Error(), "unable to find image") {
		// The legacy builder lost an intermediate image it had just
		// committed: seen once while other test processes were removing
		// their images on the same engine. A fresh build does not reuse it.
		t.Logf("build image %s: %v; building again", ref, err)
		err = buildImage(ctx, cli, bin, ref, spec)
	}
	if err != nil {
		t.Fatalf("build image %s: %v", ref, err)
	}
	inspect, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("inspect built image %s: %v", ref, err)
	}
	id := inspect.ID
	t.Logf("built image %s (%s) in %s", ref, id[:19], time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := cli.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Logf("remove image %s (%s): %v", ref, id, err)
		}
	})
	return id
}

// buildImage runs one image build of spec, reading the whole output stream.
func buildImage(ctx context.Context, cli *client.Client, bin, ref string, spec ImageSpec) error {
	buildCtx, err := imageContext(bin, spec)
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	resp, err := cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags:        []string{ref},
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readStream(resp.Body)
}

// imageContext returns an in-memory tar build context: a Dockerfile and the
// testapp binary as "app".
func imageContext(bin string, spec ImageSpec) (io.Reader, error) {
	app, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var df strings.Builder
	// Labels first, in one instruction: the legacy builder commits an
	// intermediate image per instruction, and each must carry the run
	// label so that a sweep finds it.
	fmt.Fprintf(&df, "FROM scratch\nLABEL %s=%s %s=%s\nCOPY app /app\n",
		RunLabel, RunID, buildLabel, dockerfileQuote(fmt.Sprintf("%s-%d", RunID, buildSeq.Add(1))))
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&df, "ENV %s=%s\n", k, dockerfileQuote(spec.Env[k]))
	}
	if spec.Healthcheck {
		df.WriteString(`HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD ["/app", "-probe", "/health"]` + "\n")
	}
	df.WriteString(`ENTRYPOINT ["/app"]` + "\n")

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte(df.String())},
		{"app", 0o755, app},
	}
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// dockerfileQuote quotes an ENV value so that spaces, quotes, backslashes
// and $ survive the Dockerfile parser unchanged.
func dockerfileQuote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(v) + `"`
}

// readStream reads a JSON progress stream (build, push) to its end and
// returns the first errorDetail as an error.
func readStream(r io.Reader) error {
	return jsonmessage.DisplayJSONMessagesStream(r, io.Discard, 0, false, nil)
}

// CleanupRun removes, when t ends, every container, network, image and
// volume labelled with this run's RunID. Call it from the outermost test
// only: it also removes what parallel tests of the same process still use.
func CleanupRun(t testing.TB, cli *client.Client) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := removeLabelled(ctx, cli, func(run string, _ time.Time) bool { return run == RunID }); err != nil {
			t.Errorf("cleanup of run %s: %v", RunID, err)
		}
	})
}

// Sweep removes the leftovers of other runs: containers, networks, images
// and volumes labelled RunLabel with a value other than RunID and created
// more than olderThan ago, plus old testapp build directories.
func Sweep(ctx context.Context, cli *client.Client, olderThan time.Duration) error {
	cutoff := time.Now().Add(-olderThan)
	sweepTestAppDirs(cutoff)
	return removeLabelled(ctx, cli, func(run string, created time.Time) bool {
		return run != RunID && created.Before(cutoff)
	})
}

func sweepTestAppDirs(cutoff time.Time) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "tinyforge-testapp-*"))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.ModTime().Before(cutoff) && !strings.HasSuffix(d, RunID) {
			_ = os.RemoveAll(d)
		}
	}
}

// removeLabelled removes every object labelled RunLabel for which match
// (given the label's value and the creation time) is true. Containers go
// first, so networks and images are no longer in use when removed.
func removeLabelled(ctx context.Context, cli *client.Client, match func(run string, created time.Time) bool) error {
	var errs []error
	f := filters.NewArgs(filters.Arg("label", RunLabel))

	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list containers: %w", err))
	}
	for _, c := range cs {
		if !match(c.Labels[RunLabel], time.Unix(c.Created, 0)) {
			continue
		}
		err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
		}
	}

	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list networks: %w", err))
	}
	for _, n := range ns {
		if !match(n.Labels[RunLabel], n.Created) {
			continue
		}
		if err := cli.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}

	is, err := cli.ImageList(ctx, image.ListOptions{All: true, Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list images: %w", err))
	}
	// A parent (an intermediate image of the legacy builder) cannot go
	// before its children, and the list does not order them when they were
	// created in the same second: what conflicts is retried after the rest.
	var pending []image.Summary
	for _, im := range is {
		if match(im.Labels[RunLabel], time.Unix(im.Created, 0)) {
			pending = append(pending, im)
		}
	}
	for pass := 0; len(pending) > 0; pass++ {
		var conflicts []image.Summary
		for _, im := range pending {
			_, err := cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
			switch {
			case err == nil, cerrdefs.IsNotFound(err):
			case cerrdefs.IsConflict(err) && pass < 3:
				conflicts = append(conflicts, im)
			default:
				errs = append(errs, fmt.Errorf("remove image %s: %w", im.ID, err))
			}
		}
		pending = conflicts
	}

	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list volumes: %w", err))
	}
	for _, v := range vs.Volumes {
		created, _ := time.Parse(time.RFC3339, v.CreatedAt)
		if !match(v.Labels[RunLabel], created) {
			continue
		}
		if err := cli.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

// RemoveWorkload removes, at cleanup, the containers a deployer made for
// workload and their network. Register it after the images were built, so
// it runs before their removal (cleanups run last-registered first).
func RemoveWorkload(t testing.TB, cli *client.Client, workload, network string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", labels.ManagedWorkload+"="+workload))})
		if err != nil {
			t.Errorf("list containers of %s: %v", workload, err)
		}
		for _, c := range cs {
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("remove container %s: %v", c.ID[:12], err)
			}
		}
		if err := cli.NetworkRemove(ctx, network); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove network %s: %v", network, err)
		}
	})
}
