package labelscli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// createContainer creates (without starting) a container of image named
// tf-<RunID>-<suffix>, carrying the run label and labels, removed at cleanup.
func createContainer(t *testing.T, cli *client.Client, image, suffix string, labels map[string]string) (name, id string) {
	t.Helper()
	name = "tf-" + testsvc.RunID + "-labelscli-" + suffix
	all := map[string]string{testsvc.RunLabel: testsvc.RunID}
	for k, v := range labels {
		all[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := cli.ContainerCreate(ctx, &container.Config{Image: image, Labels: all}, nil, nil, nil, name)
	if err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := cli.ContainerRemove(ctx, resp.ID, container.RemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove container %s: %v", name, err)
		}
	})
	return name, resp.ID
}

// TestCheckContainer checks the labels of real containers through the
// Docker API, connecting the way the binary does (DOCKER_* environment,
// API version negotiation). The containers are created, never started:
// a running container labelled tinyforge.enable=true would be picked up
// as a controller by any sidecar on this host, such as a concurrent e2e
// test's. TestCheckContainerState covers running ones with a fake.
func TestCheckContainer(t *testing.T) {
	cli := testsvc.Docker(t)
	image := "tf-" + testsvc.RunID + "-labelscli:v1"
	testsvc.BuildImage(t, cli, image, nil)

	ctrl, id := createContainer(t, cli, image, "ctrl", map[string]string{
		"tinyforge.enable":                            "true",
		"tinyforge.settings.domain":                   "example.org",
		"tinyforge.workloads.web.image":               "registry.example.org/web",
		"tinyforge.workloads.web.port":                "8080",
		"tinyforge.workloads.web.env.TOKEN":           secret,
		"tinyforge.workloads.web.faces.www.subdomain": "www",
	})
	plain, _ := createContainer(t, cli, image, "plain", nil)
	bad, _ := createContainer(t, cli, image, "bad", map[string]string{
		"tinyforge.enable":              "true",
		"tinyforge.workloads.api.image": "registry.example.org/api:latest",
	})

	// Created, not running: checked, with a warning that the sidecar
	// reads only running controllers.
	stdout, stderr, code := run(t, "", "check", ctrl)
	if code != ExitOK {
		t.Fatalf("exit status %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"container " + ctrl + ": 1 valid workload\n",
		"  workload web\n",
		"    env         TOKEN\n",
		"    faces       www  http://www.example.org/ -> port 8080\n",
		"warning: container " + ctrl + " is created: the sidecar reads only running controllers\n",
		"ok: 1 controller, 1 workload\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, secret) {
		t.Errorf("an env value is printed:\n%s", stdout)
	}

	// By id: the report names the container.
	stdout, _, code = run(t, "", "check", id[:12])
	if code != ExitOK || !strings.HasPrefix(stdout, "container "+ctrl+": 1 valid workload\n") {
		t.Errorf("by id: exit status %d\n%s", code, stdout)
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"not a controller", []string{plain}, ExitInvalid,
			"error: container " + plain + " is not a tinyforge controller: it has no tinyforge.* labels\n"},
		{"invalid labels", []string{bad}, ExitInvalid,
			`  error: container ` + bad + `: tinyforge.workloads.api.image: "registry.example.org/api:latest" has a tag: give the repository only and put the tag in defaultTag` + "\n"},
		{"no such container", []string{"tf-" + testsvc.RunID + "-nonexistent"}, ExitError,
			`error: "tf-` + testsvc.RunID + `-nonexistent" is neither a compose file nor a container Docker knows` + "\n"},
		{"container and compose file together conflict", []string{ctrl, "testdata/conflict.yml", "--json"}, ExitInvalid,
			`"message": "workload web is declared by both container ` + ctrl + ` and testdata/conflict.yml, service shop with different configs`},
	}
	for _, tt := range tests {
		stdout, stderr, code := run(t, "", append([]string{"check"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stdout, tt.want) {
			t.Errorf("%s: exit status %d (want %d), want %q in:\n%s%s", tt.name, code, tt.code, tt.want, stdout, stderr)
		}
	}
}

// inspectorFunc is a ContainerInspector from a function.
type inspectorFunc func(ctx context.Context, id string) (deployer.Container, error)

func (f inspectorFunc) Inspect(ctx context.Context, id string) (deployer.Container, error) {
	return f(ctx, id)
}

// TestCheckContainerState: a running controller gets no warning; an
// engine error is a source that could not be read.
func TestCheckContainerState(t *testing.T) {
	ctrlLabels := map[string]string{"tinyforge.enable": "true", "tinyforge.workloads.web.image": "registry.example.org/web"}
	docker := inspectorFunc(func(_ context.Context, id string) (deployer.Container, error) {
		switch id {
		case "running":
			return deployer.Container{Name: "running-ctrl", State: "running", Running: true, Labels: ctrlLabels}, nil
		case "exited":
			return deployer.Container{Name: "exited-ctrl", State: "exited", Labels: ctrlLabels}, nil
		default:
			return deployer.Container{}, errors.New("engine unreachable")
		}
	})
	tests := []struct {
		id   string
		code int
		want string
	}{
		{"running", ExitOK, "container running-ctrl: 1 valid workload\n  settings: network from the sidecar's --network, domain localhost (--domain), no baseVolumePath\n\n  workload web\n"},
		{"exited", ExitOK, "warning: container exited-ctrl is exited: the sidecar reads only running controllers\n"},
		{"broken", ExitError, "error: check container broken: engine unreachable\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		c := &Command{Stdout: &out, Stderr: &out, Containers: docker}
		code := c.Run(context.Background(), []string{"check", tt.id})
		if code != tt.code || !strings.Contains(out.String(), tt.want) {
			t.Errorf("%s: exit status %d (want %d), want %q in:\n%s", tt.id, code, tt.code, tt.want, &out)
		}
		if tt.id == "running" && strings.Contains(out.String(), "warning") {
			t.Errorf("running controller warned about:\n%s", &out)
		}
	}
}
