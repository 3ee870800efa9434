package sidecar

import (
	"strings"
	"testing"
)

func TestRegistryEndpointsFlag(t *testing.T) {
	testParseCases(t, []parseCase{
		{"none", nil, envPairs(), ""},
		{"two", []string{"--registry-endpoints", "127.0.0.1:5000=http://registry:5000, ghcr.io=https://mirror.internal/"}, envPairs(), ""},
		{"no url", []string{"--registry-endpoints", "127.0.0.1:5000"}, envPairs(), "want host=URL"},
		{"no host", []string{"--registry-endpoints", "=http://registry:5000"}, envPairs(), "want host=URL"},
		{"not http", []string{"--registry-endpoints", "r:5000=ftp://registry"}, envPairs(), "want an http or https URL"},
		{"a path", []string{"--registry-endpoints", "r:5000=http://registry:5000/v2"}, envPairs(), "want an http or https URL"},
		{"credentials", []string{"--registry-endpoints", "r:5000=http://u:p@registry:5000"}, envPairs(), "want an http or https URL"},
	})
	c, err := Parse([]string{"--registry-endpoints", "127.0.0.1:5000=http://registry:5000/"}, envPairs())
	if err != nil || c.Hooks.RegistryEndpoints["127.0.0.1:5000"] != "http://registry:5000" {
		t.Errorf("endpoints = %v, %v", c.Hooks.RegistryEndpoints, err)
	}
}

func TestProxyFlags(t *testing.T) {
	testParseCases(t, []parseCase{
		{"caddy default", nil, envPairs(), ""},
		{"traefik-kv", []string{"--proxy", "traefik-kv", "--traefik-entrypoints", "web, websecure"}, envPairs(), ""},
		{"traefik-kv prefix inside root", []string{"--proxy", "traefik-kv", "--redis-prefix", "traefik/tf:"}, envPairs(), "lies inside --traefik-root"},
		{"traefik-labels", []string{"--proxy", "traefik-labels", "--traefik-retry", "2"}, envPairs(), ""},
		{"npm without login", []string{"--proxy", "npm"}, envPairs(), "needs --npm-identity and --npm-secret"},
		{"npm secret from env", []string{"--proxy", "npm", "--npm-identity", "a@b.c"}, envPairs("TINYFORGE_NPM_SECRET", "s"), ""},
		{"npm remote without ip", []string{"--proxy", "npm", "--npm-identity", "a@b.c", "--npm-secret", "s", "--npm-remote"}, envPairs(), "needs --server-ip"},
		{"npm remote", []string{"--proxy", "npm", "--npm-identity", "a@b.c", "--npm-secret", "s", "--npm-remote", "--server-ip", "192.0.2.4"}, envPairs(), ""},
		{"npm allowed access lists", []string{"--proxy", "npm", "--npm-identity", "a", "--npm-secret", "s", "--npm-allowed-access-lists", "0, 5"}, envPairs(), ""},
		{"npm bad allowed access list", []string{"--proxy", "npm", "--npm-identity", "a", "--npm-secret", "s", "--npm-allowed-access-lists", "5,x"}, envPairs(), `--npm-allowed-access-lists: "x" is not an NPM access list id`},
		{"unknown proxy", []string{"--proxy", "haproxy"}, envPairs(), "want caddy, traefik-kv, traefik-labels, npm or none"},
		{"bad int env", []string{"--proxy", "npm"}, envPairs("TINYFORGE_NPM_CERTIFICATE_ID", "x"), "TINYFORGE_NPM_CERTIFICATE_ID"},
		{"negative id", []string{"--proxy", "npm", "--npm-identity", "a", "--npm-secret", "s", "--npm-certificate-id", "-1"}, envPairs(), "must not be negative"},
	})
	c, err := Parse([]string{"--proxy", "traefik-kv", "--traefik-entrypoints", "web, websecure,"}, envPairs())
	if err != nil || strings.Join(c.Proxies.entryPoints(), "|") != "web|websecure" {
		t.Errorf("entry points = %v, %v", c.Proxies.entryPoints(), err)
	}
	c, _ = Parse([]string{"--proxy", "npm", "--npm-identity", "a", "--npm-secret", "s", "--npm-remote", "--server-ip", "192.0.2.4"}, envPairs())
	if publishHost(c) != "192.0.2.4" {
		t.Errorf("publishHost = %q", publishHost(c))
	}
}
