package sidecar

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

func TestEdgeConfig(t *testing.T) {
	pw := writeFile(t, "redis_password", "s3cret/pw\n")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "allowed networks default to --network", args: []string{"--network", "apps"},
			check: func(t *testing.T, c Config) {
				if !reflect.DeepEqual(c.Edge.AllowedNetworks, []string{"apps"}) {
					t.Errorf("AllowedNetworks = %v, want [apps]", c.Edge.AllowedNetworks)
				}
			}},
		{name: "--network outside the allowed ones", args: []string{"--network", "apps", "--allowed-networks", "a,b"},
			wantErr: `--network "apps" is not among --allowed-networks a,b`},
		{name: "redis password from a file joins the URL", env: map[string]string{
			"TINYFORGE_REDIS_URL": "redis://redis:6379/0", "TINYFORGE_REDIS_PASSWORD_FILE": pw},
			check: func(t *testing.T, c Config) {
				if c.RedisURL != "redis://:s3cret%2Fpw@redis:6379/0" {
					t.Errorf("RedisURL = %q", c.RedisURL)
				}
			}},
		{name: "hooks upstream defaults to a named --listen", args: []string{"--listen", "tinyforge-hooks:9080", "--hooks-host", "hooks.example.com"},
			check: func(t *testing.T, c Config) {
				if c.Edge.HooksUpstream != "tinyforge-hooks:9080" {
					t.Errorf("HooksUpstream = %q", c.Edge.HooksUpstream)
				}
			}},
		{name: "hooks host without an address to dial", args: []string{"--hooks-host", "hooks.example.com"},
			wantErr: "--hooks-host needs --hooks-upstream"},
		{name: "hooks host with another proxy", args: []string{"--proxy", "none", "--hooks-host", "h.example.com", "--hooks-upstream", "x:1"},
			wantErr: `--hooks-host needs --proxy caddy, got "none"`},
		{name: "unknown TLS issuer", args: []string{"--caddy-tls", "letsencrypt"},
			wantErr: `--caddy-tls "letsencrypt": want acme or internal`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.args, envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestWorkloadOnAForbiddenNetworkIsLeftOut(t *testing.T) {
	edge := EdgeConfig{AllowedNetworks: []string{"tinyforge"}}
	web := &labels.Workload{Name: "web", Settings: labels.Settings{Network: "stack_control"}}
	want := `tinyforge.settings.network: "stack_control" is not among the sidecar's --allowed-networks (tinyforge): workload web left out`
	if err := edge.admit(web); err == nil || err.Error() != want {
		t.Errorf("admit(web) = %v, want %q", err, want)
	}
	for _, network := range []string{"tinyforge", ""} {
		api := &labels.Workload{Name: "api", Settings: labels.Settings{Network: network}}
		if err := edge.admit(api); err != nil {
			t.Errorf("admit(api on %q) = %v, want nil", network, err)
		}
	}
}
