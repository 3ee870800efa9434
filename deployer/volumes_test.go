package deployer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

// volumeFixture lays out a host tree in a temporary directory:
//
//	allowed/                 the only allowed path
//	allowed/data/            an existing directory
//	allowed/data/web/        an existing directory
//	allowed/volumes/         the base volume path
//	allowed/escape  -> outside/
//	allowed/inner   -> allowed/data
//	allowed/dangling -> missing
//	alias -> allowed
//	outside/
type volumeFixture struct {
	root, allowed, base, outside string
}

func newVolumeFixture(t *testing.T) volumeFixture {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := volumeFixture{
		root:    root,
		allowed: filepath.Join(root, "allowed"),
		base:    filepath.Join(root, "allowed", "volumes"),
		outside: filepath.Join(root, "outside"),
	}
	for _, d := range []string{f.allowed, filepath.Join(f.allowed, "data", "web"), f.base, f.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		filepath.Join(f.allowed, "escape"):   f.outside,
		filepath.Join(f.allowed, "inner"):    filepath.Join(f.allowed, "data"),
		filepath.Join(f.allowed, "dangling"): filepath.Join(root, "missing"),
		filepath.Join(root, "alias"):         f.allowed,
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f volumeFixture) policy() VolumePolicy {
	return VolumePolicy{BaseVolumePath: f.base, AllowedPaths: []string{f.allowed}}
}

func TestResolveVolumes(t *testing.T) {
	f := newVolumeFixture(t)
	vol := func(scope, target string, more ...string) *labels.Volume {
		v := &labels.Volume{Scope: scope, Target: target}
		for i := 0; i+1 < len(more); i += 2 {
			switch more[i] {
			case "source":
				v.Source = more[i+1]
			case "name":
				v.Name = more[i+1]
			case "ro":
				v.ReadOnly = true
			}
		}
		return v
	}
	tests := []struct {
		name    string
		volumes map[string]*labels.Volume
		tag     string
		policy  func(VolumePolicy) VolumePolicy
		want    []Mount
		errs    []string // substrings, one per problem, in order
	}{
		{
			name:    "absolute inside the allowed paths",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"/data/web", "ro", "")},
			want:    []Mount{{Type: "bind", Source: f.allowed + "/data/web", Target: "/data", ReadOnly: true}},
		},
		{
			name:    "absolute: the allowed path itself, written uncleanly",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data/", "source", f.allowed+"//data/./")},
			want:    []Mount{{Type: "bind", Source: f.allowed + "/data", Target: "/data"}},
		},
		{
			name:    "absolute: a missing source is refused, never created",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"/data/new")},
			errs:    []string{`tinyforge.workloads.web.volumes.data.source: "` + f.allowed + `/data/new" does not exist`},
		},
		{
			name:    "absolute: the base volume path itself",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.base)},
			errs:    []string{`tinyforge.workloads.web.volumes.data.source: "` + f.base + `" overlaps the base volume path`},
		},
		{
			name:    "absolute: inside the base volume path (another workload's directory)",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.base+"/db/data")},
			errs:    []string{`overlaps the base volume path ` + f.base},
		},
		{
			name:    "absolute: a directory containing the base volume path",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed)},
			errs:    []string{`"` + f.allowed + `" overlaps the base volume path`},
		},
		{
			name:    "absolute: the base volume path through a symlinked spelling",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.root+"/alias/volumes")},
			errs:    []string{`overlaps the base volume path`},
		},
		{
			name:    "absolute outside the allowed paths",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", "/etc")},
			errs:    []string{`tinyforge.workloads.web.volumes.data.source: "/etc" is outside the allowed paths [` + f.allowed + `]`},
		},
		{
			name:    "absolute: traversal out of the allowed paths",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"/data/../../outside")},
			errs:    []string{`tinyforge.workloads.web.volumes.data.source: "` + f.allowed + `/data/../../outside" is outside the allowed paths`},
		},
		{
			name:    "absolute: traversal /srv/data/../../etc",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", "/srv/data/../../etc")},
			policy:  func(p VolumePolicy) VolumePolicy { p.AllowedPaths = []string{"/srv/data"}; return p },
			errs:    []string{`tinyforge.workloads.web.volumes.data.source: "/srv/data/../../etc" is outside the allowed paths [/srv/data]`},
		},
		{
			name:    "absolute: a sibling sharing the allowed prefix",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"-evil/x")},
			errs:    []string{`is outside the allowed paths`},
		},
		{
			name:    "absolute: symlink escape",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"/escape/secrets")},
			errs:    []string{`tinyforge.workloads.web.volumes.data.source: "` + f.allowed + `/escape/secrets" is outside the allowed paths`},
		},
		{
			name:    "absolute: the escaping symlink itself",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"/escape")},
			errs:    []string{`is outside the allowed paths`},
		},
		{
			name:    "absolute: dangling symlink",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"/dangling/x")},
			errs:    []string{`tinyforge.workloads.web.volumes.data.source: "` + f.allowed + `/dangling/x" cannot be resolved`},
		},
		{
			name:    "absolute: a symlink that stays inside is followed",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"/inner/web")},
			want:    []Mount{{Type: "bind", Source: f.allowed + "/data/web", Target: "/data"}},
		},
		{
			name:    "absolute: reached through a symlinked spelling of the allowed path",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.root+"/alias/data")},
			want:    []Mount{{Type: "bind", Source: f.allowed + "/data", Target: "/data"}},
		},
		{
			name:    "absolute: allowed path given through a symlink",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"/data")},
			policy:  func(p VolumePolicy) VolumePolicy { p.AllowedPaths = []string{f.root + "/alias"}; return p },
			want:    []Mount{{Type: "bind", Source: f.allowed + "/data", Target: "/data"}},
		},
		{
			name:    "absolute: no allowed paths",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", f.allowed+"/data")},
			policy:  func(p VolumePolicy) VolumePolicy { p.AllowedPaths = nil; return p },
			errs:    []string{`"` + f.allowed + `/data" cannot be bound: the sidecar allows no host paths`},
		},
		{
			name:    "absolute: relative source",
			volumes: map[string]*labels.Volume{"data": vol("absolute", "/data", "source", "data")},
			errs:    []string{`tinyforge.workloads.web.volumes.data.source: "data" cannot be resolved`},
		},
		{
			name:    "ephemeral",
			volumes: map[string]*labels.Volume{"tmp": vol("ephemeral", "/tmp")},
			want:    []Mount{{Type: "tmpfs", Target: "/tmp"}},
		},
		{
			name:    "instance",
			volumes: map[string]*labels.Volume{"cache": vol("instance", "/cache")},
			tag:     "v1.2.3",
			want:    []Mount{{Type: "bind", Source: f.base + "/web/instances/v1.2.3/cache", Target: "/cache", CreateDir: true}},
		},
		{
			name:    "instance: tag sanitised, case kept",
			volumes: map[string]*labels.Volume{"cache": vol("instance", "/cache")},
			tag:     "Feat/x y",
			want:    []Mount{{Type: "bind", Source: f.base + "/web/instances/Feat-x-y/cache", Target: "/cache", CreateDir: true}},
		},
		{
			name:    "instance: a tag that cannot name a directory",
			volumes: map[string]*labels.Volume{"cache": vol("instance", "/cache")},
			tag:     "..",
			errs:    []string{`tinyforge.workloads.web.volumes.cache.scope: ".." cannot name a host directory`},
		},
		{
			name:    "stage",
			volumes: map[string]*labels.Volume{"uploads": vol("stage", "/uploads", "ro", "")},
			want:    []Mount{{Type: "bind", Source: f.base + "/web/uploads", Target: "/uploads", ReadOnly: true, CreateDir: true}},
		},
		{
			name:    "project",
			volumes: map[string]*labels.Volume{"shared": vol("project", "/shared")},
			want:    []Mount{{Type: "bind", Source: f.base + "/web/shared", Target: "/shared", CreateDir: true}},
		},
		{
			name:    "project: the reserved instances key",
			volumes: map[string]*labels.Volume{"instances": vol("project", "/i")},
			errs:    []string{`tinyforge.workloads.web.volumes.instances: volume name "instances" is reserved`},
		},
		{
			name: "project_named, named or not",
			volumes: map[string]*labels.Volume{
				"db":   vol("project_named", "/db", "name", "data"),
				"logs": vol("project_named", "/logs"),
			},
			want: []Mount{
				{Type: "volume", Source: "tf-web_data", Target: "/db"},
				{Type: "volume", Source: "tf-web_logs", Target: "/logs"},
			},
		},
		{
			name: "named: the operator's names kept, others namespaced to the workload",
			volumes: map[string]*labels.Volume{
				"models": vol("named", "/models", "name", "ml-models", "ro", ""),
				"shared": vol("named", "/shared"),
			},
			policy: func(p VolumePolicy) VolumePolicy { p.AllowedNamedVolumes = []string{"ml-models"}; return p },
			want: []Mount{
				{Type: "volume", Source: "ml-models", Target: "/models", ReadOnly: true},
				{Type: "volume", Source: "tf-web_shared", Target: "/shared"},
			},
		},
		{
			name: "named: another workload's private volume and another stack's volume are out of reach",
			volumes: map[string]*labels.Volume{
				"a": vol("named", "/a", "name", "tf-db_data"),
				"b": vol("named", "/b", "name", "redis_data"),
			},
			want: []Mount{
				{Type: "volume", Source: "tf-web_tf-db_data", Target: "/a"},
				{Type: "volume", Source: "tf-web_redis_data", Target: "/b"},
			},
		},
		{
			name:    "named: invalid name",
			volumes: map[string]*labels.Volume{"m": vol("named", "/m", "name", "a/b")},
			errs:    []string{`tinyforge.workloads.web.volumes.m.name: "a/b" is not a valid Docker volume name`},
		},
		{
			name: "no base path: bind scopes are problems, the rest resolves",
			volumes: map[string]*labels.Volume{
				"cache":   vol("instance", "/cache"),
				"shared":  vol("project", "/shared"),
				"tmp":     vol("ephemeral", "/tmp"),
				"uploads": vol("stage", "/uploads"),
			},
			policy: func(p VolumePolicy) VolumePolicy { p.BaseVolumePath = ""; return p },
			want:   []Mount{{Type: "tmpfs", Target: "/tmp"}},
			errs: []string{
				`tinyforge.workloads.web.volumes.cache.scope: "instance" needs the base volume path: volume refused: no base volume path is configured (tinyforge.settings.baseVolumePath)`,
				`tinyforge.workloads.web.volumes.shared.scope: "project" needs the base volume path`,
				`tinyforge.workloads.web.volumes.uploads.scope: "stage" needs the base volume path`,
			},
		},
		{
			name:    "base path outside the allowed paths",
			volumes: map[string]*labels.Volume{"shared": vol("stage", "/shared")},
			policy:  func(p VolumePolicy) VolumePolicy { p.BaseVolumePath = f.outside; return p },
			errs:    []string{`tinyforge.workloads.web.volumes.shared.scope: "stage" needs the base volume path: volume refused: base volume path "` + f.outside + `" is outside the allowed paths`},
		},
		{
			name:    "base path escaping through a symlink",
			volumes: map[string]*labels.Volume{"shared": vol("stage", "/shared")},
			policy:  func(p VolumePolicy) VolumePolicy { p.BaseVolumePath = f.allowed + "/escape/volumes"; return p },
			errs:    []string{`is outside the allowed paths`},
		},
		{
			name: "one bad volume does not block the others",
			volumes: map[string]*labels.Volume{
				"a":  vol("absolute", "/a", "source", "/etc"),
				"b":  vol("ephemeral", "/b"),
				"c":  vol("bogus", "/c"),
				"d":  vol("named", "/b"),
				"e":  vol("stage", "relative"),
				"ff": vol("named", "/f"),
			},
			want: []Mount{{Type: "tmpfs", Target: "/b"}, {Type: "volume", Source: "tf-web_ff", Target: "/f"}},
			errs: []string{
				`volumes.a.source: "/etc" is outside the allowed paths`,
				`volumes.c.scope: "bogus" is not a volume scope (one of absolute, ephemeral, instance, stage, project, project_named, named)`,
				`volumes.d.target: "/b" is already the target of tinyforge.workloads.web.volumes.b.target: skipped`,
				`volumes.e.target: "relative" is not an absolute path inside the container`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.policy()
			if tt.policy != nil {
				p = tt.policy(p)
			}
			w := &labels.Workload{Name: "web", Volumes: tt.volumes}
			got, problems := ResolveVolumes(w, tt.tag, p)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mounts:\n got %+v\nwant %+v", got, tt.want)
			}
			if len(problems) != len(tt.errs) {
				t.Fatalf("problems: got %q, want %d matching %q", problems, len(tt.errs), tt.errs)
			}
			for i, err := range problems {
				if !strings.Contains(err.Error(), tt.errs[i]) {
					t.Errorf("problem %d: %q lacks %q", i, err, tt.errs[i])
				}
				var le *labels.Error
				if !errors.As(err, &le) || le.Workload != "web" || !strings.HasPrefix(le.Key, "tinyforge.workloads.web.volumes.") {
					t.Errorf("problem %q is not a *labels.Error naming a volume label", err)
				}
			}
		})
	}
}

// TestResolveVolumesSymlinkPlantedInBase covers a container that, through a
// shared directory, plants a symlink where another volume's directory goes.
func TestResolveVolumesSymlinkPlantedInBase(t *testing.T) {
	f := newVolumeFixture(t)
	if err := os.MkdirAll(filepath.Join(f.base, "web", "instances"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f.outside, filepath.Join(f.base, "web", "instances", "v2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.base, "web", "real"), filepath.Join(f.base, "web", "linked")); err != nil {
		t.Fatal(err)
	}
	// A symlink that stays inside the base, to another workload's data.
	if err := os.MkdirAll(filepath.Join(f.base, "db", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.base, "db", "data"), filepath.Join(f.base, "web", "theirs")); err != nil {
		t.Fatal(err)
	}
	w := &labels.Workload{Name: "web", Volumes: map[string]*labels.Volume{
		"cache":  {Scope: labels.ScopeInstance, Target: "/cache"},
		"linked": {Scope: labels.ScopeStage, Target: "/linked"},
		"theirs": {Scope: labels.ScopeStage, Target: "/theirs"},
	}}
	mounts, problems := ResolveVolumes(w, "v2", f.policy())
	if len(problems) != 3 {
		t.Fatalf("problems %q, mounts %+v", problems, mounts)
	}
	for i, link := range []string{"web/instances/v2", "web/linked", "web/theirs"} {
		want := "tinyforge.workloads.web.volumes." + []string{"cache", "linked", "theirs"}[i] + ".scope: " + filepath.Join(f.base, link) + " is a symlink"
		if !strings.Contains(problems[i].Error(), want) || !errors.Is(problems[i], ErrVolumeRefused) {
			t.Errorf("problem %d = %v, want %q", i, problems[i], want)
		}
	}

	// The same volumes resolve for another tag.
	mounts, problems = ResolveVolumes(&labels.Workload{Name: "web", Volumes: map[string]*labels.Volume{"cache": w.Volumes["cache"]}}, "v3", f.policy())
	if len(problems) != 0 || len(mounts) != 1 || mounts[0].Source != filepath.Join(f.base, "web", "instances", "v3", "cache") {
		t.Fatalf("v3: %+v, %q", mounts, problems)
	}
}

// TestResolveVolumesSample resolves the documented sample: every scope, with
// the sample's own paths allowed.
func TestResolveVolumesSample(t *testing.T) {
	f := newVolumeFixture(t)
	for name, w := range labels.Sample().Workloads {
		for _, v := range w.Volumes {
			if v.Scope == labels.ScopeAbsolute {
				v.Source = filepath.Join(f.allowed, v.Source)
				if err := os.MkdirAll(v.Source, 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
		mounts, problems := ResolveVolumes(w, w.ResolveTag(""), f.policy())
		if len(problems) != 0 || len(mounts) != len(w.Volumes) {
			t.Errorf("%s: mounts %+v, problems %q", name, mounts, problems)
		}
	}
}
