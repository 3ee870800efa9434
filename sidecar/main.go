package sidecar

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Main runs `tinyforge sidecar ARGS`: it parses flags and environment,
// sets up logging and runs the daemon until SIGINT or SIGTERM.
func Main(args []string, stderr io.Writer) int {
	cfg, err := Parse(args, osGetenv)
	if errors.Is(err, flag.ErrHelp) {
		Usage(stderr)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "tinyforge sidecar:", err)
		fmt.Fprintln(stderr, "run 'tinyforge sidecar -h' for the flags")
		return 2
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "tinyforge sidecar:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := New(ctx, cfg, log)
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		return 1
	}
	if err := s.Run(ctx); err != nil {
		log.Error().Err(err).Msg("stopped")
		return 1
	}
	log.Info().Msg("stopped")
	return 0
}

// newLogger returns a zerolog logger: human console output on a terminal,
// JSON lines otherwise (or as --log-format says).
func newLogger(cfg Config, w io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("--log-level %q: %w", cfg.LogLevel, err)
	}
	console := cfg.LogFormat == "console"
	if cfg.LogFormat == "auto" {
		f, ok := w.(*os.File)
		console = ok && isatty.IsTerminal(f.Fd())
	} else if cfg.LogFormat != "json" && !console {
		return zerolog.Logger{}, fmt.Errorf("--log-format %q: want console, json or auto", cfg.LogFormat)
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}
