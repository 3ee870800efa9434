// Package secrets keeps what must not be readable in Redis, logs or API
// answers: registry tokens and secret env overrides. Values are sealed with
// AES-256-GCM under the key of TINYFORGE_SECRET_KEY_FILE; a second (old) key
// can be configured during rotation, and reads try both.
//
// It owns the crypto and the rules (names, contexts, which credential goes
// to which registry host) but no storage: the Store interface it consumes
// is implemented by package redisstore. Errors name what failed (a registry
// name, an env key), never a value or a key.
package secrets
