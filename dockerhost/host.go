package dockerhost

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/policy"
)

var _ deployer.Docker = (*Host)(nil)

// Engine is the part of the Docker client Host uses; *client.Client
// satisfies it, and tests can substitute a narrower fake.
type Engine interface {
	ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error)
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	NetworkInspect(ctx context.Context, networkID string, options network.InspectOptions) (network.Inspect, error)
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkRemove(ctx context.Context, networkID string) error
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerStop(ctx context.Context, containerID string, options container.StopOptions) error
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerLogs(ctx context.Context, container string, options container.LogsOptions) (io.ReadCloser, error)
	ContainerWait(ctx context.Context, containerID string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
}

// Host is the Docker Engine as the deployer sees it.
type Host struct {
	engine Engine
	netMu  sync.Mutex // serialises EnsureNetwork

	// PullAuth, when set, turns the stored registry credentials named creds
	// (Pull's argument) into credentials for a pull of ref; returning false
	// pulls anonymously, an error fails the pull (a credential that cannot
	// be read must not turn into an anonymous pull, whose failure would
	// look like "not found"). Nil means every pull is anonymous.
	PullAuth func(ctx context.Context, creds, ref string) (registry.AuthConfig, bool, error)
	// Images, when not empty, refuses pulls outside --allowed-images: a
	// backstop for the deployer's own check, whatever path asks for a pull.
	Images policy.Images
	// BindRoots are the host paths binds may use (--allowed-volume-paths
	// and the base volume path); Create refuses any other bind.
	BindRoots policy.Paths

	// NetworkLabels are added to every network EnsureNetwork creates,
	// besides tinyforge.managed=true (tests add their run id here).
	NetworkLabels map[string]string
}

// New returns a Host using engine, typically a *client.Client. A client
// created with API version negotiation should have negotiated (e.g.
// NegotiateAPIVersion) before the Host is used concurrently; FromEnv does.
func New(engine Engine) *Host { return &Host{engine: engine} }

// FromEnv connects to the engine named by the DOCKER_* environment
// (default: the local socket): see Connect.
func FromEnv() (*Host, error) {
	cli, err := Connect()
	if err != nil {
		return nil, err
	}
	return New(cli), nil
}

// Connect returns a client of the engine named by the DOCKER_* environment
// (default: the local socket), the API version negotiated so the same
// binary works with old engines (20.10, API 1.41) and new ones. It
// negotiates now: the client otherwise negotiates lazily on the first
// request, and several methods (list, events, stop) read the version
// unlocked before that, a data race when the first calls are concurrent.
// An unreachable engine leaves negotiation to the first request.
func Connect() (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli.NegotiateAPIVersion(ctx)
	return cli, nil
}

// Close releases the engine's connections when it holds any.
func (h *Host) Close() error {
	if c, ok := h.engine.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
