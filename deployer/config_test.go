package deployer

import (
	"slices"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

func TestRuntimeConfigChangeRedeploysTheSameImage(t *testing.T) {
	f := newFixture(t)
	f.docker.digests["reg.local/web:v1"] = "sha256:aaa"
	first := f.mustDeploy(t, "v1")

	f.w.Env = map[string]string{"MODE": "fast"}
	res := f.mustDeploy(t, "v1")
	if res.Noop || res.Container == first.Container {
		t.Fatalf("deploy after an env change = %+v, want a new container", res)
	}
	if got := f.docker.specs[len(f.docker.specs)-1].Env; !slices.Equal(got, []string{"MODE=fast"}) {
		t.Fatalf("env of the new container = %v", got)
	}
	if again := f.mustDeploy(t, "v1"); !again.Noop {
		t.Fatalf("deploy with unchanged config = %+v, want no-op", again)
	}
}

func TestFaceChangeReroutesWithoutANewContainer(t *testing.T) {
	f := newFixture(t)
	f.docker.digests["reg.local/web:v1"] = "sha256:aaa"
	first := f.mustDeploy(t, "v1")
	creates := len(f.docker.specs)

	f.w.Faces["www"] = &labels.Face{Subdomain: "shop"}
	res := f.mustDeploy(t, "v1")
	if !res.Noop || !res.Rerouted || res.Container != first.Container || len(f.docker.specs) != creates {
		t.Fatalf("deploy after a face change = %+v, want a re-route of %s without a new container", res, first.Container)
	}
	ip := f.docker.containers[first.Container].IPs["net"]
	if got := f.upstreams(); got["shop.example.com"] != ip+":8080" || got["www.example.com"] != "" {
		t.Fatalf("routes after re-route = %v", got)
	}
	evs := f.store.events["web"]
	if last := evs[len(evs)-1]; last.Outcome != "rerouted" {
		t.Fatalf("last event = %+v, want rerouted", last)
	}
	if res := f.mustDeploy(t, "v1"); res.Rerouted {
		t.Fatal("second converge re-routed again")
	}
}

func TestSpecCarriesCommandLimitsVolumesAndSettings(t *testing.T) {
	f := newFixture(t)
	base := t.TempDir()
	f.engine.Volumes = VolumePolicy{AllowedPaths: []string{base}}
	f.w.Settings = labels.Settings{Network: "team-net", Domain: "team.test", BaseVolumePath: base}
	f.w.Command = `serve --addr ":8080"`
	f.w.Entrypoint = `[]`
	f.w.CPULimit, f.w.MemoryLimit = 0.5, 64
	f.w.Volumes = map[string]*labels.Volume{
		"cache": {Target: "/cache", Scope: labels.ScopeEphemeral},
		"data":  {Target: "/data", Scope: labels.ScopeProject},
		"bad":   {Target: "/etc/x", Scope: labels.ScopeAbsolute, Source: "/etc"},
	}
	res := f.mustDeploy(t, "v1")

	s := f.docker.specs[0]
	if s.Network != "team-net" || !slices.Equal(s.Cmd, []string{"serve", "--addr", ":8080"}) ||
		s.Entrypoint == nil || len(s.Entrypoint) != 0 || s.NanoCPUs != 5e8 || s.MemoryBytes != 64<<20 {
		t.Fatalf("spec = %+v", s)
	}
	var targets []string
	for _, m := range s.Mounts {
		targets = append(targets, m.Target)
	}
	if !slices.Equal(targets, []string{"/cache", "/data"}) {
		t.Fatalf("mounts = %+v, want cache and data (the refused /etc bind skipped)", s.Mounts)
	}
	if got := f.upstreams(); got["www.team.test"] == "" {
		t.Fatalf("routes = %v, want the settings' domain", got)
	}
	if in := f.store.instances[res.Container]; in.Network != "team-net" || in.Address == "" {
		t.Fatalf("instance = %+v", in)
	}
}

func TestInstanceFromContainer(t *testing.T) {
	c := Container{ID: "c1", Name: "tf-web-v1-1", Running: true, State: "running",
		IPs: map[string]string{"n": "10.1.0.2"},
		Labels: map[string]string{labels.ManagedWorkload: "web", labels.ManagedTag: "v1",
			labels.ManagedImage: "r/web:v1", labels.ManagedNetwork: "n", labels.ManagedDigest: "sha256:x"}}
	in := InstanceFromContainer(c, "other")
	if in.Workload != "web" || in.Address != "10.1.0.2" || in.State != StateRunning || in.Digest != "sha256:x" {
		t.Fatalf("instance = %+v", in)
	}
}
