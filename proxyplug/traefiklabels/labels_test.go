package traefiklabels_test

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug/traefiklabels"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// documented are the label keys Traefik's Docker provider documents
// (routing/providers/docker.md, middlewares/http/retry.md), with <name>
// standing for a router, service or middleware name.
var documented = []string{
	`traefik\.enable`,
	`traefik\.docker\.network`,
	`traefik\.http\.routers\.<name>\.rule`,
	`traefik\.http\.routers\.<name>\.entrypoints`,
	`traefik\.http\.routers\.<name>\.service`,
	`traefik\.http\.routers\.<name>\.middlewares`,
	`traefik\.http\.routers\.<name>\.tls`,
	`traefik\.http\.routers\.<name>\.tls\.certresolver`,
	`traefik\.http\.services\.<name>\.loadbalancer\.server\.port`,
	`traefik\.http\.middlewares\.<name>\.retry\.attempts`,
}

func isDocumented(key string) bool {
	for _, d := range documented {
		re := "^" + strings.ReplaceAll(d, "<name>", `[a-z0-9_-]+`) + "$"
		if regexp.MustCompile(re).MatchString(key) {
			return true
		}
	}
	return false
}

func routes(container, ip string) []deployer.Route {
	return []deployer.Route{
		{ID: "tf-web-api", Workload: "web", Face: "api", Host: "api.example.com", Upstream: ip + ":9090", Port: 9090, Container: container, TLS: true},
		{ID: "tf-web-www", Workload: "web", Face: "www", Host: "www.example.com", Upstream: ip + ":8080", Port: 8080, Container: container},
	}
}

func render(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("labels differ from %s\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestLabelsGoldenAndDocumented(t *testing.T) {
	for name, opts := range map[string]traefiklabels.Options{
		"labels-plain": {Network: "tinyforge"},
		"labels-tls":   {Network: "tinyforge", EntryPoints: []string{"web", "websecure"}, CertResolver: "le", RetryAttempts: 3},
	} {
		t.Run(name, func(t *testing.T) {
			p := traefiklabels.New(opts)
			blue := p.ContainerLabels(routes("blue-id", "10.0.0.2"))
			green := p.ContainerLabels(routes("green-id", "10.0.0.3"))
			if !maps.Equal(blue, green) {
				t.Fatalf("blue and green labels differ: Traefik would drop the router\nblue:  %v\ngreen: %v", blue, green)
			}
			for k := range blue {
				if !isDocumented(k) {
					t.Errorf("label %s is not one of Traefik's documented keys", k)
				}
			}
			golden(t, name, render(blue))
		})
	}
	if got := traefiklabels.New(traefiklabels.Options{}).ContainerLabels(nil); len(got) != 0 {
		t.Errorf("labels without routes = %v, want none (the container stays out of Traefik)", got)
	}
}
