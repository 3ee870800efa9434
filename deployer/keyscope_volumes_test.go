package deployer

import (
	"path/filepath"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

// TestVolumesOfAKeyScopeAreItsOwn (issue 15, finding 5): the same
// workload name declared under different controller key scopes resolves
// to different instance, stage and project directories and different
// Docker volumes; without a key scope the paths are those of before, so
// existing installs keep their data.
func TestVolumesOfAKeyScopeAreItsOwn(t *testing.T) {
	f := newVolumeFixture(t)
	p := f.policy()
	p.AllowedNamedVolumes = []string{"shared-cache"}
	resolve := func(keyScope string) map[string]string {
		w := &labels.Workload{Name: "web", KeyScope: keyScope, Volumes: map[string]*labels.Volume{
			"inst":   {Scope: labels.ScopeInstance, Target: "/inst"},
			"stage":  {Scope: labels.ScopeStage, Target: "/stage"},
			"proj":   {Scope: labels.ScopeProject, Target: "/proj"},
			"pn":     {Scope: labels.ScopeProjectNamed, Target: "/pn"},
			"named":  {Scope: labels.ScopeNamed, Target: "/named", Name: "data"},
			"shared": {Scope: labels.ScopeNamed, Target: "/shared", Name: "shared-cache"},
		}}
		mounts, problems := ResolveVolumes(w, "v1", p)
		if len(problems) > 0 {
			t.Fatalf("key scope %q: %v", keyScope, problems)
		}
		out := map[string]string{}
		for _, m := range mounts {
			out[m.Target] = m.Source
		}
		return out
	}
	none, a, b := resolve(""), resolve("team-a"), resolve("team_b")
	want := map[string]map[string]string{
		"": {
			"/inst": filepath.Join(f.base, "web", "instances", "v1", "inst"), "/stage": filepath.Join(f.base, "web", "stage"),
			"/proj": filepath.Join(f.base, "web", "proj"), "/pn": "tf-web_pn", "/named": "tf-web_data", "/shared": "shared-cache",
		},
		"team-a": {
			"/inst":  filepath.Join(f.base, "_keyscopes", "team-a", "web", "instances", "v1", "inst"),
			"/stage": filepath.Join(f.base, "_keyscopes", "team-a", "web", "stage"),
			"/proj":  filepath.Join(f.base, "_keyscopes", "team-a", "web", "proj"),
			"/pn":    "tfk-team-a.web_pn", "/named": "tfk-team-a.web_data", "/shared": "shared-cache",
		},
	}
	for scope, got := range map[string]map[string]string{"": none, "team-a": a} {
		for target, src := range want[scope] {
			if got[target] != src {
				t.Errorf("key scope %q, %s: source %q, want %q", scope, target, got[target], src)
			}
		}
	}
	for target := range none {
		if target == "/shared" { // the operator allowed it to be shared
			continue
		}
		if none[target] == a[target] || a[target] == b[target] || none[target] == b[target] {
			t.Errorf("%s is shared across key scopes: %q %q %q", target, none[target], a[target], b[target])
		}
	}
}

// TestVolumePrefixIsInjective: no (key scope, workload, name) triple
// gives the volume name of another, whatever '-' and '_' the names hold.
func TestVolumePrefixIsInjective(t *testing.T) {
	seen := map[string][3]string{}
	for _, scope := range []string{"", "a", "a_b", "b", "web", "k-web"} {
		for _, workload := range []string{"web", "b", "web-x", "x", "k"} {
			for _, name := range []string{"x", "x_y", "y", "b_web_x"} {
				v := volumePrefix(&labels.Workload{Name: workload, KeyScope: scope}) + name
				if prev, dup := seen[v]; dup {
					t.Fatalf("%q from both %v and %v", v, prev, [3]string{scope, workload, name})
				}
				seen[v] = [3]string{scope, workload, name}
			}
		}
	}
}
