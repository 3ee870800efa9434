package sidecar

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testlog"
)

// TestUndeclaredWorkloadIsDropped: a request for a workload no controller
// declares any more is dropped, with a log line, by the real deploy step.
func TestUndeclaredWorkloadIsDropped(t *testing.T) {
	cfg, err := Parse(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	s := newTestSidecar(cfg, nil, zerolog.New(logs))
	t.Cleanup(func() { s.queue.Close(0) })
	s.runDeploy(context.Background(), deployer.Request{Workload: "gone", Tag: "v1"})
	if !strings.Contains(logs.String(), "deploy dropped") {
		t.Error("no log line for the dropped request")
	}
}
