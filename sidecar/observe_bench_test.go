package sidecar

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/metrics"
)

// BenchmarkObserveDeploy is what reporting one finished deploy costs the
// deploy: reading its record into an outcome with six phases and counting
// it in the metrics (the message is queued by notify, measured in
// notify's BenchmarkNotify).
//
//	go test -run '^$' -bench ObserveDeploy ./sidecar/
func BenchmarkObserveDeploy(b *testing.B) {
	t0 := time.Unix(1700000000, 0)
	ev := deployer.Event{Outcome: deployer.OutcomeDeployed, Tag: "v2", Digest: "sha256:abc", Received: t0, Started: t0,
		Steps: steps(t0, deployer.StepLocked, 0.0, deployer.StepPulled, 2.0, deployer.StepCreated, 0.25, deployer.StepStarted, 0.25,
			deployer.StepHealthy, 1.0, deployer.StepSwitching, 0.01, deployer.StepSwitched, 0.02, deployer.StepWatched, 10.0),
		Time: t0.Add(16 * time.Second)}
	w := &labels.Workload{Name: "shop"}
	o := &observer{metrics: metrics.New(metrics.Options{}), log: zerolog.Nop(), workload: func(string) *labels.Workload { return w }}
	b.ReportAllocs()
	for b.Loop() {
		o.DeployFinished("shop", ev)
	}
}
