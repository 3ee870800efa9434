package sidecar

import (
	"flag"
	"fmt"
	"time"

	"github.com/tinyforge/tinyforge/internal/envdefault"
	"github.com/tinyforge/tinyforge/metrics"
	"github.com/tinyforge/tinyforge/notify"
)

// libFlags lets a package declare its own flags (metrics.Config,
// notify.Config) on the sidecar's flag set: each gets its TINYFORGE_*
// environment twin, and a secret its --x-file / TINYFORGE_X_FILE twin.
type libFlags struct{ e *envFlags }

var (
	_ metrics.Flags = libFlags{}
	_ notify.Flags  = libFlags{}
)

func (f libFlags) String(p *string, name, def, usage string) { f.e.str(p, name, def, usage) }
func (f libFlags) Secret(p *string, name, def, usage string) { f.e.secret(p, name, def, usage) }

func (f libFlags) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	f.e.duration(p, name, def, usage)
}

// Var defines a flag of any value; a set environment twin is given to Set
// first, so a repeatable flag takes the environment's values and then the
// command line's.
func (f libFlags) Var(v flag.Value, name, usage string) {
	if env := f.e.getenv(envdefault.EnvName(name)); env != "" {
		if err := v.Set(env); err != nil && f.e.err == nil {
			f.e.err = fmt.Errorf("%s: %w", envdefault.EnvName(name), err)
		}
	}
	f.e.fs.Var(v, name, f.e.usage(name, usage))
}
