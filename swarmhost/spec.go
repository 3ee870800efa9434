package swarmhost

import (
	"errors"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/policy"
)

// Placement is what a service adds to a container spec: how many tasks
// run and on which nodes.
type Placement struct {
	Replicas uint64 // 0 means 1
	// Constraints are swarm constraint expressions, e.g. "node.role==worker"
	// or "node.labels.zone==a"; the manager validates them.
	Constraints []string
	// Preferences spread tasks evenly over the values of a node attribute,
	// e.g. "node.labels.zone" (a "spread=" prefix is accepted).
	Preferences []string
	// MaxPerNode caps the tasks of the service on one node; 0 = no cap.
	MaxPerNode uint64
}

// serviceSpec builds the service of one deployed version: the container
// spec's image (pinned to the digest label when there is one, so every
// node runs the same bits), env, command, limits, mounts and labels, on
// spec.Network, with DNS round-robin endpoints (the edge and the sidecar
// reach tasks by address: the VIP needs IPVS, which not every kernel has).
// Published ports are per task, on the node (host mode). The result passes
// dockerhost's policy or the build fails with dockerhost.ErrUnsafe.
func serviceSpec(spec deployer.ContainerSpec, p Placement, roots policy.Paths) (swarm.ServiceSpec, error) {
	if spec.Name == "" || spec.Image == "" {
		return swarm.ServiceSpec{}, fmt.Errorf("service spec: name %q and image %q are both required", spec.Name, spec.Image)
	}
	mounts, err := serviceMounts(spec.Mounts)
	if err != nil {
		return swarm.ServiceSpec{}, fmt.Errorf("service %s: %w", spec.Name, err)
	}
	ports, err := hostPorts(spec)
	if err != nil {
		return swarm.ServiceSpec{}, fmt.Errorf("service %s: %w", spec.Name, err)
	}
	cs := &swarm.ContainerSpec{
		Image:   pinned(spec.Image, spec.Labels[labels.ManagedDigest]),
		Env:     spec.Env,
		Command: entrypoint(spec.Entrypoint),
		Args:    spec.Cmd,
		Mounts:  mounts,
	}
	replicas := max(p.Replicas, 1)
	out := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: spec.Name, Labels: spec.Labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: cs,
			Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{
				NanoCPUs: spec.NanoCPUs, MemoryBytes: spec.MemoryBytes,
			}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny},
			Placement: &swarm.Placement{
				Constraints: p.Constraints,
				Preferences: preferences(p.Preferences),
				MaxReplicas: p.MaxPerNode,
			},
		},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR, Ports: ports},
	}
	if spec.Network != "" {
		out.TaskTemplate.Networks = []swarm.NetworkAttachmentConfig{{Target: spec.Network}}
	}
	if err := checkService(out, roots); err != nil {
		return swarm.ServiceSpec{}, fmt.Errorf("service %s from %s: %w", spec.Name, spec.Image, err)
	}
	return out, nil
}

// checkService puts what a service asks of each node into the host config
// dockerhost checks, so a service is refused exactly where a container is;
// on top, a service may not ask for privileges through credential specs,
// sysctls, or the host's network by attachment.
func checkService(s swarm.ServiceSpec, roots policy.Paths) error {
	cs := s.TaskTemplate.ContainerSpec
	hc := &container.HostConfig{Mounts: cs.Mounts, CapAdd: cs.CapabilityAdd}
	for _, n := range s.TaskTemplate.Networks {
		if hc.NetworkMode == "" || n.Target == "host" {
			hc.NetworkMode = container.NetworkMode(n.Target)
		}
	}
	err := dockerhost.CheckHostConfig(hc, roots)
	var extra []error
	if cs.Privileges != nil {
		extra = append(extra, errors.New("privileges (credential spec, SELinux, seccomp or AppArmor settings)"))
	}
	if len(cs.Sysctls) > 0 {
		extra = append(extra, fmt.Errorf("sysctls %v", cs.Sysctls))
	}
	if len(extra) == 0 {
		return err
	}
	if err == nil {
		return fmt.Errorf("%w: %w", dockerhost.ErrUnsafe, errors.Join(extra...))
	}
	return fmt.Errorf("%w; %w", err, errors.Join(extra...))
}

// serviceMounts maps the spec's mounts. A bind the engine should create
// when missing (CreateDir) cannot be had on a swarm: the engine
// (20.10, API 1.41) refuses a missing bind source on whichever node runs
// the task, so it is refused here, by name, before anything runs.
func serviceMounts(ms []deployer.Mount) ([]mount.Mount, error) {
	var out []mount.Mount
	var errs []error
	for _, m := range ms {
		if m.Type == deployer.MountBind && m.CreateDir {
			errs = append(errs, fmt.Errorf("bind %s -> %s: a swarm node does not create a missing bind directory; use a named volume or create it on every node", m.Source, m.Target))
			continue
		}
		out = append(out, mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return out, errors.Join(errs...)
}

// hostPorts publishes each of spec.Publish per task on the node running
// it, on a port the engine picks. A swarm publishes on every address of
// the node: an address restriction (PublishIP) cannot be honoured, so it
// is refused rather than silently widened.
func hostPorts(spec deployer.ContainerSpec) ([]swarm.PortConfig, error) {
	if len(spec.Publish) == 0 {
		return nil, nil
	}
	if spec.PublishIP != "" && spec.PublishIP != "0.0.0.0" && spec.PublishIP != "::" {
		return nil, fmt.Errorf("publish on %s: a swarm publishes on every address of the node, it cannot bind one address", spec.PublishIP)
	}
	out := make([]swarm.PortConfig, 0, len(spec.Publish))
	for _, p := range spec.Publish {
		out = append(out, swarm.PortConfig{
			Protocol:    swarm.PortConfigProtocolTCP,
			TargetPort:  uint32(p),
			PublishMode: swarm.PortConfigPublishModeHost,
		})
	}
	return out, nil
}

// pinned adds digest to image unless image already names one, so that
// every node runs the bits the manager resolved.
func pinned(image, digest string) string {
	if digest == "" || strings.Contains(image, "@") {
		return image
	}
	return image + "@" + digest
}

// entrypoint maps the spec's entrypoint to the task's Command: nil keeps
// the image's, an empty list clears it ([""], as dockerhost does).
func entrypoint(ep []string) []string {
	if ep != nil && len(ep) == 0 {
		return []string{""}
	}
	return ep
}

func preferences(spread []string) []swarm.PlacementPreference {
	var out []swarm.PlacementPreference
	for _, s := range spread {
		out = append(out, swarm.PlacementPreference{Spread: &swarm.SpreadOver{
			SpreadDescriptor: strings.TrimPrefix(s, "spread="),
		}})
	}
	return out
}
