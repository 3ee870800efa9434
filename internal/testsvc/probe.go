package testsvc

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// ProbeOnNetwork GETs url from inside netName, the way a sidecar or an
// edge proxy attached to that network would: it runs image (a testapp
// image from BuildImage) as a standalone container with `-probe url` and
// returns nil when the probe got a 2xx, else an error carrying the
// probe's output. Overlay addresses are not reachable from the host, so
// this is how tests check them. The container is removed before return.
func ProbeOnNetwork(t testing.TB, cli *client.Client, image, netName, url string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.ContainerCreate(ctx,
		&container.Config{Image: image, Cmd: []string{"-probe", url}, Labels: map[string]string{RunLabel: RunID}},
		&container.HostConfig{NetworkMode: container.NetworkMode(netName)},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: {}}},
		nil, "")
	if err != nil {
		return fmt.Errorf("create probe container on %s: %w", netName, err)
	}
	defer func() {
		rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer rcancel()
		_ = cli.ContainerRemove(rctx, resp.ID, container.RemoveOptions{Force: true})
	}()
	waitC, errC := cli.ContainerWait(ctx, resp.ID, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start probe container on %s: %w", netName, err)
	}
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
	case err := <-errC:
		return fmt.Errorf("wait for probe of %s: %w", url, err)
	}
	if code == 0 {
		return nil
	}
	var out strings.Builder
	if logs, err := cli.ContainerLogs(ctx, resp.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true}); err == nil {
		_, _ = stdcopy.StdCopy(&out, &out, io.LimitReader(logs, 4096))
		_ = logs.Close()
	}
	return fmt.Errorf("probe %s from network %s: exit %d: %s", url, netName, code, strings.TrimSpace(out.String()))
}
