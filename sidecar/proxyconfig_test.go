package sidecar

import (
	"strings"
	"testing"
)

func TestProxyFlags(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name    string
		args    []string
		env     func(string) string
		wantErr string
	}{
		{"caddy default", nil, env(), ""},
		{"traefik-kv", []string{"--proxy", "traefik-kv", "--traefik-entrypoints", "web, websecure"}, env(), ""},
		{"traefik-kv prefix inside root", []string{"--proxy", "traefik-kv", "--redis-prefix", "traefik/tf:"}, env(), "lies inside --traefik-root"},
		{"traefik-labels", []string{"--proxy", "traefik-labels", "--traefik-retry", "2"}, env(), ""},
		{"npm without login", []string{"--proxy", "npm"}, env(), "needs --npm-identity and --npm-secret"},
		{"npm secret from env", []string{"--proxy", "npm", "--npm-identity", "a@b.c"}, env("TINYFORGE_NPM_SECRET", "s"), ""},
		{"npm remote without ip", []string{"--proxy", "npm", "--npm-identity", "a@b.c", "--npm-secret", "s", "--npm-remote"}, env(), "needs --server-ip"},
		{"npm remote", []string{"--proxy", "npm", "--npm-identity", "a@b.c", "--npm-secret", "s", "--npm-remote", "--server-ip", "192.0.2.4"}, env(), ""},
		{"npm allowed access lists", []string{"--proxy", "npm", "--npm-identity", "a", "--npm-secret", "s", "--npm-allowed-access-lists", "0, 5"}, env(), ""},
		{"npm bad allowed access list", []string{"--proxy", "npm", "--npm-identity", "a", "--npm-secret", "s", "--npm-allowed-access-lists", "5,x"}, env(), `--npm-allowed-access-lists: "x" is not an NPM access list id`},
		{"unknown proxy", []string{"--proxy", "haproxy"}, env(), "want caddy, traefik-kv, traefik-labels, npm or none"},
		{"bad int env", []string{"--proxy", "npm"}, env("TINYFORGE_NPM_CERTIFICATE_ID", "x"), "TINYFORGE_NPM_CERTIFICATE_ID"},
		{"negative id", []string{"--proxy", "npm", "--npm-identity", "a", "--npm-secret", "s", "--npm-certificate-id", "-1"}, env(), "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args, tt.env)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
	c, err := Parse([]string{"--proxy", "traefik-kv", "--traefik-entrypoints", "web, websecure,"}, env())
	if err != nil || strings.Join(c.Proxies.entryPoints(), "|") != "web|websecure" {
		t.Errorf("entry points = %v, %v", c.Proxies.entryPoints(), err)
	}
	c, _ = Parse([]string{"--proxy", "npm", "--npm-identity", "a", "--npm-secret", "s", "--npm-remote", "--server-ip", "192.0.2.4"}, env())
	if publishHost(c) != "192.0.2.4" {
		t.Errorf("publishHost = %q", publishHost(c))
	}
}
