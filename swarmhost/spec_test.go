package swarmhost

import (
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/policy"
)

func baseSpec() deployer.ContainerSpec {
	return deployer.ContainerSpec{
		Name:        "tf-web-v2-1700000000000",
		Image:       "127.0.0.1:5000/web:v2",
		Env:         []string{"A=1", "B=2"},
		Port:        8080,
		Network:     "tf-net",
		Labels:      map[string]string{labels.Managed: "true", labels.ManagedDigest: "sha256:abc"},
		Cmd:         []string{"-flag"},
		NanoCPUs:    500_000_000,
		MemoryBytes: 64 << 20,
	}
}

func TestServiceSpecMapsTheContainerSpec(t *testing.T) {
	s, err := serviceSpec(baseSpec(), Placement{}, policy.Paths{})
	if err != nil {
		t.Fatal(err)
	}
	cs := s.TaskTemplate.ContainerSpec
	checks := []struct {
		what      string
		got, want any
	}{
		{"name", s.Name, "tf-web-v2-1700000000000"},
		{"image pinned to the digest label", cs.Image, "127.0.0.1:5000/web:v2@sha256:abc"},
		{"env", strings.Join(cs.Env, ","), "A=1,B=2"},
		{"args", strings.Join(cs.Args, ","), "-flag"},
		{"entrypoint kept", cs.Command == nil, true},
		{"labels on the service", s.Labels[labels.Managed], "true"},
		{"no labels on task containers", len(cs.Labels), 0},
		{"replicas default", *s.Mode.Replicated.Replicas, uint64(1)},
		{"cpu", s.TaskTemplate.Resources.Limits.NanoCPUs, int64(500_000_000)},
		{"memory", s.TaskTemplate.Resources.Limits.MemoryBytes, int64(64 << 20)},
		{"network", s.TaskTemplate.Networks[0].Target, "tf-net"},
		{"dns round robin, no VIP", s.EndpointSpec.Mode, swarm.ResolutionModeDNSRR},
		{"no ports", len(s.EndpointSpec.Ports), 0},
		{"restart", s.TaskTemplate.RestartPolicy.Condition, swarm.RestartPolicyConditionAny},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestServiceSpecPlacementPortsAndMounts(t *testing.T) {
	spec := baseSpec()
	spec.Image = "web@sha256:def"
	spec.Entrypoint = []string{}
	spec.Publish = []int{8080}
	spec.Mounts = []deployer.Mount{
		{Type: deployer.MountVolume, Source: "tf-web-data", Target: "/data"},
		{Type: deployer.MountTmpfs, Target: "/tmp"},
	}
	p := Placement{Replicas: 3, Constraints: []string{"node.role==worker"}, Preferences: []string{"spread=node.labels.zone", "node.labels.rack"}, MaxPerNode: 2}
	s, err := serviceSpec(spec, p, policy.Paths{})
	if err != nil {
		t.Fatal(err)
	}
	cs := s.TaskTemplate.ContainerSpec
	if cs.Image != "web@sha256:def" {
		t.Errorf("an image with a digest is kept: %s", cs.Image)
	}
	if len(cs.Command) != 1 || cs.Command[0] != "" {
		t.Errorf("an empty entrypoint clears the image's: %q", cs.Command)
	}
	if *s.Mode.Replicated.Replicas != 3 || s.TaskTemplate.Placement.MaxReplicas != 2 {
		t.Errorf("replicas %d, max per node %d", *s.Mode.Replicated.Replicas, s.TaskTemplate.Placement.MaxReplicas)
	}
	if c := s.TaskTemplate.Placement.Constraints; len(c) != 1 || c[0] != "node.role==worker" {
		t.Errorf("constraints %v", c)
	}
	prefs := s.TaskTemplate.Placement.Preferences
	if len(prefs) != 2 || prefs[0].Spread.SpreadDescriptor != "node.labels.zone" || prefs[1].Spread.SpreadDescriptor != "node.labels.rack" {
		t.Errorf("preferences %+v", prefs)
	}
	ports := s.EndpointSpec.Ports
	if len(ports) != 1 || ports[0].TargetPort != 8080 || ports[0].PublishedPort != 0 || ports[0].PublishMode != swarm.PortConfigPublishModeHost {
		t.Errorf("ports %+v: want 8080 published per task in host mode on a port the engine picks", ports)
	}
	if len(cs.Mounts) != 2 || cs.Mounts[0].Type != mount.TypeVolume || cs.Mounts[0].Source != "tf-web-data" || cs.Mounts[1].Type != mount.TypeTmpfs {
		t.Errorf("mounts %+v", cs.Mounts)
	}
}

func TestServiceSpecRefuses(t *testing.T) {
	roots, err := policy.ParsePaths([]string{t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*deployer.ContainerSpec)
		unsafe bool   // wraps dockerhost.ErrUnsafe
		says   string // the error names what was wrong
	}{
		{"host network", func(s *deployer.ContainerSpec) { s.Network = "host" }, true, `network mode "host"`},
		{"docker socket", func(s *deployer.ContainerSpec) {
			s.Mounts = []deployer.Mount{{Type: deployer.MountBind, Source: "/var/run/docker.sock", Target: "/s"}}
		}, true, "docker.sock"},
		{"bind outside the roots", func(s *deployer.ContainerSpec) {
			s.Mounts = []deployer.Mount{{Type: deployer.MountBind, Source: "/etc", Target: "/e"}}
		}, true, "/etc"},
		{"bind the engine would create", func(s *deployer.ContainerSpec) {
			s.Mounts = []deployer.Mount{{Type: deployer.MountBind, Source: roots.Roots()[0] + "/web", Target: "/d", CreateDir: true}}
		}, false, "does not create a missing bind directory"},
		{"publish on one address", func(s *deployer.ContainerSpec) { s.Publish, s.PublishIP = []int{8080}, "10.0.0.5" }, false, "publish on 10.0.0.5"},
		{"no image", func(s *deployer.ContainerSpec) { s.Image = "" }, false, "image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := baseSpec()
			c.change(&spec)
			_, err := serviceSpec(spec, Placement{}, roots)
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, dockerhost.ErrUnsafe) != c.unsafe {
				t.Errorf("errors.Is(ErrUnsafe) = %v, want %v: %v", !c.unsafe, c.unsafe, err)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
		})
	}
}

func TestCheckServiceRefusesWhatOnlyAServiceCanAsk(t *testing.T) {
	s, err := serviceSpec(baseSpec(), Placement{}, policy.Paths{})
	if err != nil {
		t.Fatal(err)
	}
	s.TaskTemplate.ContainerSpec.CapabilityAdd = []string{"NET_ADMIN"}
	s.TaskTemplate.ContainerSpec.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
	s.TaskTemplate.ContainerSpec.Privileges = &swarm.Privileges{}
	err = checkService(s, policy.Paths{})
	if !errors.Is(err, dockerhost.ErrUnsafe) {
		t.Fatalf("want ErrUnsafe, got %v", err)
	}
	for _, want := range []string{"NET_ADMIN", "sysctls", "privileges"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
