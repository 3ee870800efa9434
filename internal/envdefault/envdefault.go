// Package envdefault names the environment twin of every tinyforge flag
// (--redis-url is TINYFORGE_REDIS_URL) and holds the defaults that more
// than one command shares: the sidecar, the operator commands (admin) and
// the API clients read the same variables with the same defaults from
// here. The Redis key prefix default is redisstore.DefaultPrefix, owned
// by the store's key layout. It imports no tinyforge package.
package envdefault

import "strings"

// Defaults shared by the sidecar and the commands that reach it.
const (
	// Listen is the address the sidecar serves webhooks and its API on.
	Listen = ":9080"
	// APIURL is the sidecar's API as a command on the same host reaches it.
	APIURL = "http://127.0.0.1:9080"
	// RedisURL is the Redis the sidecar keeps its state in.
	RedisURL = "redis://127.0.0.1:6379/0"
)

// EnvName is the environment twin of a flag: listen -> TINYFORGE_LISTEN.
func EnvName(flagName string) string {
	return "TINYFORGE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Lookup is the value of a flag's environment twin, or def when unset or
// empty.
func Lookup(getenv func(string) string, flagName, def string) string {
	if v := getenv(EnvName(flagName)); v != "" {
		return v
	}
	return def
}

// Usage appends the environment twin to a flag's usage text.
func Usage(flagName, usage string) string {
	return usage + " (env " + EnvName(flagName) + ")"
}
