package sidecar

import (
	"strings"
	"testing"
)

// --engine (and TINYFORGE_ENGINE) takes docker or swarm; swarm routes by
// service name and refuses the proxies that cannot.
func TestEngineFlag(t *testing.T) {
	c, err := Parse(nil, envOf(nil))
	if err != nil || c.Engine != EngineDocker || upstreamByName(c) {
		t.Fatalf("default: engine %q by name %t, %v", c.Engine, upstreamByName(c), err)
	}
	c, err = Parse(nil, envOf(map[string]string{"TINYFORGE_ENGINE": "swarm"}))
	if err != nil || c.Engine != EngineSwarm || !upstreamByName(c) {
		t.Fatalf("TINYFORGE_ENGINE=swarm: engine %q by name %t, %v", c.Engine, upstreamByName(c), err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--engine", "kubernetes"}, `--engine "kubernetes": want docker or swarm`},
		{[]string{"--engine", "swarm", "--proxy", "traefik-labels"}, "--proxy traefik-labels reads container labels of one host"},
		{[]string{"--engine", "swarm", "--proxy", "npm", "--npm-identity", "a", "--npm-secret", "s", "--npm-remote", "--server-ip", "192.0.2.4"}, "a remote NPM"},
	} {
		if _, err := Parse(tt.args, envOf(nil)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
}
