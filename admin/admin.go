// Package admin is the operator's side of the secrets: `tinyforge registry`,
// `tinyforge env` and `tinyforge secrets` read and write the sidecar's
// Redis directly, sealing with the same key file as the sidecar. It never
// prints a token or a secret value, and reads secrets from a file or
// stdin so they need not appear on a command line.
//
// It shares the sidecar's flag names, environment twins and defaults
// through internal/envdefault and redisstore, and must not import sidecar.
package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/internal/envdefault"
	"github.com/tinyforge/tinyforge/redisstore"
	"github.com/tinyforge/tinyforge/secrets"
)

// IO is where a command reads and writes.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// errUsage marks an error that should print the command's usage (exit 2).
var errUsage = errors.New("usage")

// conn is the connection settings every command shares, with the same
// flags and TINYFORGE_* environment twins as the sidecar.
type conn struct {
	redisURL, redisPrefix string
	redisPasswordFile     string
	keyFile, oldKeyFile   string
}

func (c *conn) flags(fs *flag.FlagSet, getenv func(string) string) {
	def := func(name, v string) string { return envdefault.Lookup(getenv, name, v) }
	// The Redis URL may hold a password: its environment value is never
	// the flag's printed default.
	c.redisURL = def("redis-url", envdefault.RedisURL)
	fs.Func("redis-url", "Redis URL of the sidecar (default "+envdefault.RedisURL+"; env TINYFORGE_REDIS_URL)", func(s string) error { c.redisURL = s; return nil })
	fs.StringVar(&c.redisPasswordFile, "redis-password-file", def("redis-password-file", ""), "file holding the Redis password, replacing the URL's (env TINYFORGE_REDIS_PASSWORD_FILE)")
	fs.StringVar(&c.redisPrefix, "redis-prefix", def("redis-prefix", redisstore.DefaultPrefix), "prefix of the sidecar's Redis keys (env TINYFORGE_REDIS_PREFIX)")
	fs.StringVar(&c.keyFile, "secret-key-file", def("secret-key-file", ""), "AES-256 key file (env TINYFORGE_SECRET_KEY_FILE)")
	fs.StringVar(&c.oldKeyFile, "secret-old-key-file", def("secret-old-key-file", ""), "previous key, for reading during a rotation (env TINYFORGE_SECRET_OLD_KEY_FILE)")
}

// vault opens Redis and the keyring; close releases the connection.
func (c *conn) vault(ctx context.Context) (v *secrets.Vault, st *redisstore.Store, err error) {
	keys, err := secrets.LoadKeyring(c.keyFile, c.oldKeyFile)
	if err != nil {
		return nil, nil, err
	}
	redisURL := c.redisURL
	if c.redisPasswordFile != "" {
		pw, err := os.ReadFile(c.redisPasswordFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--redis-password-file: %w", err)
		}
		if redisURL, err = redisstore.WithPassword(redisURL, strings.TrimSpace(string(pw))); err != nil {
			return nil, nil, err
		}
	}
	st, err = redisstore.Open(ctx, redisURL, c.redisPrefix)
	if err != nil {
		return nil, nil, err
	}
	return &secrets.Vault{Store: st, Keys: keys}, st, nil
}

// run is the shape of every subcommand.
type run func(ctx context.Context, io IO, args []string) error

// Main runs `tinyforge <group> <command> ...` for group registry, env or
// secrets and returns the exit code: 0 done, 1 failed, 2 bad usage.
func Main(group string, args []string, io IO) int {
	cmds := map[string]map[string]run{
		"registry": {"add": registryAdd, "list": registryList, "remove": registryRemove},
		"env":      {"set": envSet, "unset": envUnset, "list": envList},
		"secrets":  {"rotate": secretsRotate},
	}[group]
	if len(args) == 0 || cmds[args[0]] == nil {
		fmt.Fprintf(io.Stderr, "usage: tinyforge %s <%s> [flags]\n", group, strings.Join(names(cmds), "|"))
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := cmds[args[0]](ctx, io, args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(io.Stderr, "tinyforge %s %s: %v\n", group, args[0], err)
		return 2
	default:
		fmt.Fprintf(io.Stderr, "tinyforge %s %s: %v\n", group, args[0], err)
		return 1
	}
}

func names(m map[string]run) []string {
	order := []string{"add", "set", "list", "remove", "unset", "rotate"}
	var out []string
	for _, n := range order {
		if m[n] != nil {
			out = append(out, n)
		}
	}
	return out
}

// parse parses flags anywhere among the arguments (flag stops at the first
// positional one) and returns the positional ones; after "--" everything
// is positional, for values that start with "-".
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, err
		} else if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err) // flag printed the usage already
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(pos []string, n int, usage string) error {
	if len(pos) != n {
		return fmt.Errorf("%w: %s (got %d arguments)", errUsage, usage, len(pos))
	}
	return nil
}

// readSecret returns v, or a value read from stdin when v is "-", or from
// file when file is set: secrets need not be typed on a command line.
func readSecret(v, file string, stdin io.Reader) (string, error) {
	var b []byte
	var err error
	switch {
	case file != "" && v != "":
		return "", fmt.Errorf("%w: give the value or a file, not both", errUsage)
	case file != "":
		b, err = readLimited(file)
	case v == "-":
		b, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	default:
		return v, nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
