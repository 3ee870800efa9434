package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"

	"github.com/tinyforge/tinyforge/secrets"
)

const envSetUsage = `tinyforge env set WORKLOAD KEY VALUE|- [--secret] [--scope KEYSCOPE]  ("-" reads the value from stdin)`

// envSet stores an env override the sidecar merges over the workload's
// labels at its next deploy; --secret seals it.
func envSet(ctx context.Context, io IO, args []string) error {
	fs := flag.NewFlagSet("env set", flag.ContinueOnError)
	var c conn
	c.flags(fs, io.Getenv)
	secret := fs.Bool("secret", false, "seal the value (needs --secret-key-file)")
	valueFile := fs.String("value-file", "", "read the value from this file instead")
	scope := fs.String("scope", "", "controller key scope the value belongs to (see --controller-key-file); only the workload declared under it gets the value")
	pos, err := parse(fs, args, io.Stderr)
	if err != nil {
		return err
	}
	if *valueFile != "" {
		pos = append(pos, "")
	}
	if err := wantArgs(pos, 3, envSetUsage); err != nil {
		return err
	}
	value, err := readSecret(pos[2], *valueFile, io.Stdin)
	if err != nil {
		return err
	}
	v, st, err := c.vault(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	v.Scope = *scope
	if err := v.SetEnv(ctx, pos[0], pos[1], value, *secret); err != nil {
		return err
	}
	kind := "plain"
	if *secret {
		kind = "sealed"
	}
	fmt.Fprintf(io.Stdout, "env %s of %s stored (%s); it applies from the next deploy\n", pos[1], pos[0], kind)
	return nil
}

func envUnset(ctx context.Context, io IO, args []string) error {
	fs := flag.NewFlagSet("env unset", flag.ContinueOnError)
	var c conn
	c.flags(fs, io.Getenv)
	pos, err := parse(fs, args, io.Stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, "tinyforge env unset WORKLOAD KEY"); err != nil {
		return err
	}
	_, st, err := c.vault(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.DeleteEnv(ctx, pos[0], pos[1]); errors.Is(err, secrets.ErrNotFound) {
		return fmt.Errorf("env %s of %s: not stored", pos[1], pos[0])
	} else if err != nil {
		return err
	}
	fmt.Fprintf(io.Stdout, "env %s of %s removed\n", pos[1], pos[0])
	return nil
}

// envList shows a workload's overrides, each with its controller key
// scope when it has one; secret values stay hidden.
func envList(ctx context.Context, io IO, args []string) error {
	fs := flag.NewFlagSet("env list", flag.ContinueOnError)
	var c conn
	c.flags(fs, io.Getenv)
	pos, err := parse(fs, args, io.Stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "tinyforge env list WORKLOAD"); err != nil {
		return err
	}
	_, st, err := c.vault(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	env, err := st.GetEnv(ctx, pos[0])
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v := env[k].Value
		if env[k].Secret {
			v = "(secret)"
		}
		if env[k].Scope != "" {
			v += "  (scope " + env[k].Scope + ")"
		}
		fmt.Fprintf(io.Stdout, "%s=%s\n", k, v)
	}
	return nil
}

// scopeOf is how a listing shows the controller key scope of a record:
// only workloads of that scope get it; "-" reaches unscoped workloads.
func scopeOf(scope string) string {
	if scope == "" {
		return "-"
	}
	return scope
}
