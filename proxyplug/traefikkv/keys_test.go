package traefikkv

import (
	"testing"

	"github.com/tinyforge/tinyforge/deployer"
)

func TestName(t *testing.T) {
	tests := []struct {
		r    deployer.Route
		want string
	}{
		{deployer.Route{ID: "tf-web-www"}, "tf-web-www"},
		{deployer.Route{ID: "tf-my.app-www"}, "tf-my-app-www"},
		{deployer.Route{ID: "tf-web@x/y"}, "tf-web-x-y"},
		{deployer.Route{ID: "TF-Web_1"}, "tf-web_1"},
		{deployer.Route{Workload: "web", Face: "api"}, "tf_web__api"},
		{deployer.Route{ID: deployer.RouteID("web", "x-y")}, "tf_web__x-y"},
		{deployer.Route{ID: deployer.RouteID("web-x", "y")}, "tf_web-x__y"},
		{deployer.Route{ID: deployer.RouteID("web", "X.Y")}, "tf_web___58_2e_59"},
	}
	for _, tt := range tests {
		if got := Name(tt.r); got != tt.want {
			t.Errorf("Name(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestKeysTLS(t *testing.T) {
	r := deployer.Route{ID: "tf-web-www", Host: "www.example.com", Upstream: "10.0.0.2:80"}
	plain := settings{root: "traefik", entryPoints: []string{"web"}}
	if k := plain.keys(r); len(k) != 4 || k["traefik/http/routers/tf-web-www/tls"] != "" {
		t.Errorf("plain keys = %v, want rule, service, entrypoint, url only", k)
	}
	r.TLS = true
	if k := plain.keys(r); k["traefik/http/routers/tf-web-www/tls"] != "true" || k["traefik/http/routers/tf-web-www/tls/certresolver"] != "" {
		t.Errorf("TLS face keys = %v", k)
	}
	r.TLS = false
	resolver := settings{root: "tk", entryPoints: []string{"websecure"}, certResolver: "le"}
	k := resolver.keys(r)
	if k["tk/http/routers/tf-web-www/tls"] != "true" || k["tk/http/routers/tf-web-www/tls/certresolver"] != "le" || k["tk/http/routers/tf-web-www/entrypoints/0"] != "websecure" {
		t.Errorf("resolver keys = %v", k)
	}
}

func TestMergeFlags(t *testing.T) {
	for cur, want := range map[string]string{"": "KEA", "AKE": "AKE", "Ex": "ExKA", "KEA": "KEA"} {
		if got := mergeFlags(cur, notifyFlags); got != want {
			t.Errorf("mergeFlags(%q) = %q, want %q", cur, got, want)
		}
	}
}
