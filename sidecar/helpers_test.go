package sidecar

import (
	"context"

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
		controllers: controllers.NewControllers(nil, "", log),
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
