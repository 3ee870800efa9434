package sidecar

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/controllers"
	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/deploystream"
	"github.com/tinyforge/tinyforge/intake"
	"github.com/tinyforge/tinyforge/metrics"
	"github.com/tinyforge/tinyforge/redisstore"
)

// newTestSidecar wires a sidecar without Docker or a proxy, as New does:
// no controller is listed (nothing declared), and its queue runs nothing.
// store may be nil for tests that never reach Redis.
func newTestSidecar(cfg Config, store *redisstore.Store, log zerolog.Logger) *Sidecar {
	s := &Sidecar{
		cfg:         cfg,
		log:         log,
		store:       store,
		controllers: controllers.NewWatcher(nil, "", log),
		queue:       deployer.NewQueue(func(context.Context, deployer.Request) {}),
		stream:      deploystream.NewHub(0),
	}
	s.observe(metrics.New(metrics.Options{Sources: intake.Sources}), nil)
	var st intake.Store
	if store != nil {
		st = store
	}
	s.intake = intake.New(s.intakeConfig(), st, s.controllers, s.queue.Submit, log)
	s.poller = s.newPoller()
	return s
}

// envPairs is a getenv holding the given key, value pairs.
func envPairs(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// parseCase is a row of a flag table: Parse(args, env) succeeds when
// wantErr is "", else fails with an error containing wantErr.
type parseCase struct {
	name    string
	args    []string
	env     func(string) string
	wantErr string
}

// testParseCases runs each case as a subtest of t.
func testParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tt := range cases {
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
}
