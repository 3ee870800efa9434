package swarmhost

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/policy"
)

var _ deployer.Docker = (*Host)(nil)

// Engine is the part of the Docker client Host uses; *client.Client
// satisfies it. Every call goes to a manager node.
type Engine interface {
	ServiceCreate(ctx context.Context, service swarm.ServiceSpec, options swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error)
	ServiceInspectWithRaw(ctx context.Context, serviceID string, opts swarm.ServiceInspectOptions) (swarm.Service, []byte, error)
	ServiceList(ctx context.Context, options swarm.ServiceListOptions) ([]swarm.Service, error)
	ServiceUpdate(ctx context.Context, serviceID string, version swarm.Version, service swarm.ServiceSpec, options swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error)
	ServiceRemove(ctx context.Context, serviceID string) error
	TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
	NodeList(ctx context.Context, options swarm.NodeListOptions) ([]swarm.Node, error)
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
}

// Puller pulls an image and returns the digest it resolved to; dockerhost.Host
// is one. On a swarm it runs on the manager, only to learn the digest.
type Puller interface {
	Pull(ctx context.Context, ref, creds string) (digest string, err error)
}

// Host is a swarm manager as the deployer sees it.
type Host struct {
	engine Engine
	creds  sync.Map // repository → credentials name of its last Pull
	nodes  sync.Map // node id → hostname, of the nodes seen (see nameNodes)

	// Puller, when set, resolves images for Pull (and checks
	// --allowed-images there). Nil: Pull resolves nothing and the nodes use
	// the image they hold, as when images are loaded rather than pulled.
	Puller Puller
	// PullAuth, when set, supplies the credentials each node uses to pull
	// a service's image (sent with the service, as docker service create
	// --with-registry-auth does); false sends none, an error fails the
	// create. Nil: nodes pull anonymously. creds is the stored credentials
	// name the deployer pulled the image's repository with ("" for none).
	PullAuth func(ctx context.Context, creds, ref string) (registry.AuthConfig, bool, error)
	// BindRoots are the host paths binds may use; any other bind is refused
	// with dockerhost.ErrUnsafe, as Create refuses it on one host.
	BindRoots policy.Paths
	// NetworkLabels are added to every network EnsureNetwork creates,
	// besides tinyforge.managed=true (tests add their run id here).
	NetworkLabels map[string]string
	// Default is the placement of services made through Create, which
	// carries no placement of its own; zero replicas mean one.
	Default Placement
	// Poll is how often Start and Stop look at the tasks (default 250 ms).
	Poll time.Duration
}

// New returns a Host using engine, typically a *client.Client connected
// to a manager.
func New(engine Engine) *Host { return &Host{engine: engine} }

// FromEnv connects to the engine named by the DOCKER_* environment, as
// dockerhost.Connect does.
func FromEnv() (*Host, error) {
	cli, err := dockerhost.Connect()
	if err != nil {
		return nil, err
	}
	return New(cli), nil
}

// Close releases the engine's connections when it holds any.
func (h *Host) Close() error {
	if c, ok := h.engine.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Pull resolves ref through Puller and returns its digest, or "" without
// a Puller. The nodes pull for themselves when a task lands on them.
// The credentials name is remembered per repository, so the service
// created from the image next sends the nodes the same credentials.
func (h *Host) Pull(ctx context.Context, ref, creds string) (string, error) {
	h.creds.Store(repository(ref), creds)
	if h.Puller == nil {
		return "", nil
	}
	return h.Puller.Pull(ctx, ref, creds)
}

// repository is ref without its tag or digest.
func repository(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

func (h *Host) poll() time.Duration {
	if h.Poll > 0 {
		return h.Poll
	}
	return 250 * time.Millisecond
}
