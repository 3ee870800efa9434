package sidecar

import (
	"context"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/logkey"
)

// TestPauseEnv names the TEST-ONLY hook that blocks deploys at a step
// boundary. Its value is "<step>" (block until shutdown) or
// "<step>:<duration>" (block that long); steps are the deployer's
// (pulled, releasing, released, created, started, healthy, switching,
// switched, watched), and
// "surplus" means "watched", the boundary before surplus removal. The e2e
// tests set it to kill (SIGKILL) or freeze (SIGSTOP) the sidecar at an
// exact point of a deploy. It has no flag on purpose: nobody should set it
// in production.
const TestPauseEnv = "TINYFORGE_TEST_PAUSE_AT"

// testPauseHook returns the deployer's AtStep hook for TestPauseEnv, or
// nil when it is unset.
func testPauseHook(getenv func(string) string, log zerolog.Logger) func(context.Context, string) {
	v := getenv(TestPauseEnv)
	if v == "" {
		return nil
	}
	step, durText, _ := strings.Cut(v, ":")
	if step == "surplus" {
		step = deployer.StepWatched
	}
	var dur time.Duration
	if durText != "" {
		d, err := time.ParseDuration(durText)
		if err != nil {
			log.Error().Err(err).Str("value", v).Msg(TestPauseEnv + ": bad duration; hook disabled")
			return nil
		}
		dur = d
	}
	log.Warn().Str(logkey.Step, step).Dur("pause", dur).Msg("TEST HOOK " + TestPauseEnv + " is set: deploys will pause at this step")
	return func(ctx context.Context, at string) {
		if at != step {
			return
		}
		log.Warn().Str(logkey.Step, at).Msg("TEST HOOK: deploy paused at step boundary")
		if dur == 0 {
			<-ctx.Done()
			return
		}
		t := time.NewTimer(dur)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		log.Warn().Str(logkey.Step, at).Msg("TEST HOOK: deploy resumed")
	}
}
