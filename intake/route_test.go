package intake

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/webhook"
)

func TestRoute(t *testing.T) {
	workloads := map[string]*labels.Workload{
		"web":     {Name: "web", Image: "nginx"},
		"web-pr":  {Name: "web-pr", Image: "docker.io/library/nginx"},
		"app":     {Name: "app", Image: "ghcr.io/acme/app"},
		"local":   {Name: "local", Image: "127.0.0.1:5000/team/api"},
		"invalid": {Name: "invalid", Image: "Not An Image"},
	}
	repoOf := func(image string) string { r, _ := imageref.Repository(image); return r }
	// web-pr deploys only pr-* tags; the others take everything.
	allowed := func(w *labels.Workload, tag string) (bool, string) {
		return w.Name != "web-pr" || strings.HasPrefix(tag, "pr-"), "tag " + tag + " is not allowed by tags \"pr-*\""
	}
	tests := []struct {
		name    string
		push    webhook.Push
		targets []string
		skipped []skip
	}{
		{"hub official image, pushed as index.docker.io", webhook.Push{Registry: "index.docker.io", Repository: "library/nginx", Tag: "1.27"},
			[]string{"web"}, []skip{{"web-pr", `workload web-pr: tag 1.27 is not allowed by tags "pr-*"`}}},
		{"tag both filters allow", webhook.Push{Registry: "docker.io", Repository: "nginx", Tag: "pr-7"},
			[]string{"web", "web-pr"}, nil},
		{"owner in another case", webhook.Push{Registry: "ghcr.io", Repository: "Acme/App", Tag: "v1"},
			[]string{"app"}, nil},
		{"registry with a port", webhook.Push{Registry: "127.0.0.1:5000", Repository: "team/api", Tag: "v1"},
			[]string{"local"}, nil},
		{"same path on another port", webhook.Push{Registry: "127.0.0.1:5001", Repository: "team/api", Tag: "v1"},
			nil, []skip{{"", "no workload uses image 127.0.0.1:5001/team/api"}}},
		{"no registry: Docker Hub", webhook.Push{Repository: "acme/app", Tag: "v1"},
			nil, []skip{{"", "no workload uses image docker.io/acme/app"}}},
		{"invalid pushed name", webhook.Push{Registry: "reg", Repository: "a b", Tag: "v1"},
			nil, []skip{{"", `invalid image name: image "reg/a b": invalid reference format`}}},
	}
	for _, tt := range tests {
		targets, skipped := route(tt.push, workloads, repoOf, allowed)
		var names []string
		for _, w := range targets {
			names = append(names, w.Name)
		}
		if !reflect.DeepEqual(names, tt.targets) || !reflect.DeepEqual(skipped, tt.skipped) {
			t.Errorf("%s: targets %v, skipped %+v; want %v, %+v", tt.name, names, skipped, tt.targets, tt.skipped)
		}
	}
}
