package sidecar

import (
	"slices"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

func TestKeptNetworks(t *testing.T) {
	got := keptNetworks("tinyforge", map[string]*labels.Workload{
		"web":  {Name: "web"},
		"api":  {Name: "api", Settings: labels.Settings{Network: "backend"}},
		"gone": nil,
	})
	if want := []string{"backend", "tinyforge"}; !slices.Equal(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
}
