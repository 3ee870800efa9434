package labels

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// HasRelease reports whether deploys of the workload run a release command.
func (w *Workload) HasRelease() bool { return w.Release.Command != "" }

// ReleaseWait is how long the release command may run.
func (w *Workload) ReleaseWait() time.Duration {
	if w.Release.Timeout > 0 {
		return time.Duration(w.Release.Timeout)
	}
	return DefaultReleaseTimeout
}

// ReleaseEnv is the environment of the release container: the workload's
// env with release.env added over it. It is a new map.
func (w *Workload) ReleaseEnv() map[string]string {
	env := maps.Clone(w.Env)
	if env == nil {
		env = make(map[string]string, len(w.Release.Env))
	}
	maps.Copy(env, w.Release.Env)
	return env
}

// releaseProblems checks the release labels; timeout and env without a
// command would silently do nothing, so they are reported.
func (w *Workload) releaseProblems(prefix string, bad func(key, value, format string, args ...any)) {
	at := prefix + ".release"
	r := w.Release
	words, err := r.Command.Split()
	switch {
	case err != nil:
		bad(at+".command", string(r.Command), "%q: %v", r.Command, err)
	case r.Command != "" && len(words) == 0:
		bad(at+".command", string(r.Command), "%q has no words: remove the label to run no release command", r.Command)
	}
	switch {
	case r.Timeout < 0:
		bad(at+".timeout", r.Timeout.String(), "%s is negative", r.Timeout)
	case r.Timeout > 0 && r.Command == "":
		bad(at+".timeout", r.Timeout.String(), "has no effect without release.command: set the command or remove the timeout")
	}
	for _, name := range slices.Sorted(maps.Keys(r.Env)) {
		switch {
		case strings.ContainsAny(name, "=\x00"):
			// The value may be a secret: it is not copied into the error.
			bad(at+".env."+name, "", "environment variable name %q must not contain '=' or NUL", name)
		case r.Command == "":
			bad(at+".env."+name, "", "has no effect without release.command: set the command or remove release.env")
		}
	}
}
