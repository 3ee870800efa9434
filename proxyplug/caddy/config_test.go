package caddy

import (
	"testing"

	"github.com/tinyforge/tinyforge/deployer"
)

func TestRouteID(t *testing.T) {
	tests := []struct {
		name string
		r    deployer.Route
		want string
	}{
		{"id kept", deployer.Route{ID: "tf-web-www", Workload: "other"}, "tf-web-www"},
		{"unsafe characters", deployer.Route{ID: "tf-web/www?x y"}, "tf-web-www-x-y"},
		{"derived from workload and face", deployer.Route{Workload: "web", Face: "api"}, "tf_web__api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := routeID(tt.r); got != tt.want {
				t.Errorf("routeID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		host, upstream string
		ok             bool
	}{
		{"www.example.com", "10.0.0.5:8080", true},
		{"www.example.com", "tf-web-v2-1700000000000:80", true},
		{"www.example.com", "[fd00::5]:80", true},
		{"", "10.0.0.5:8080", false},
		{"a b", "10.0.0.5:8080", false},
		{"www.example.com", "10.0.0.5", false},
		{"www.example.com", "http://10.0.0.5:80", false},
		{"www.example.com", "10.0.0.5:0", false},
		{"www.example.com", "10.0.0.5:99999", false},
		{"www.example.com", ":80", false},
		{"www.example.com", "{bad}:80", false},
	}
	for _, tt := range tests {
		err := validate(deployer.Route{Host: tt.host, Upstream: tt.upstream})
		if (err == nil) != tt.ok {
			t.Errorf("validate(%q, %q) = %v, want ok=%v", tt.host, tt.upstream, err, tt.ok)
		}
	}
}

func TestNewServerAutomaticHTTPS(t *testing.T) {
	if s := newServer([]string{":80"}); s.AutomaticHTTPS == nil || !s.AutomaticHTTPS.Disable {
		t.Errorf("plain-HTTP server must disable automatic HTTPS, got %+v", s.AutomaticHTTPS)
	}
	if s := newTLSServer([]string{":443"}); s.AutomaticHTTPS == nil || s.AutomaticHTTPS.Disable || !s.AutomaticHTTPS.DisableRedirects {
		t.Errorf("TLS server must leave automatic HTTPS on, without redirects, got %+v", s.AutomaticHTTPS)
	}
	if s := newServer(nil); s.Routes == nil {
		t.Error("routes must encode as [], not null")
	}
}
