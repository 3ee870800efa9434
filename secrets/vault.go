package secrets

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/tinyforge/tinyforge/labels"
)

// ErrNotFound: no registry or env override of that name is stored.
var ErrNotFound = errors.New("not found")

// Registry is one stored set of registry credentials. Token is sealed;
// the other fields are not secret and are shown by `tinyforge registry list`.
type Registry struct {
	Name string `json:"name"`
	// URL is the registry as given (ghcr.io, https://registry.example.com:5000);
	// only its host is used, to decide which pulls may carry the credential.
	URL string `json:"url"`
	// Username is sent with the token; empty means the registry takes the
	// token as username (and password), as in the original design.
	Username string `json:"username,omitempty"`
	Token    string `json:"token"`
	// Scope is the controller key scope the credentials belong to: only
	// workloads declared under a key of that scope may pull with them
	// ("" = workloads of no scope).
	Scope string `json:"scope,omitempty"`
}

// EnvValue is one stored env override; Value is sealed when Secret.
type EnvValue struct {
	Value  string `json:"value"`
	Secret bool   `json:"secret,omitempty"`
	// Scope is the controller key scope the value belongs to: it reaches
	// the workload only when declared under a key of that scope.
	Scope string `json:"scope,omitempty"`
}

// Store keeps sealed records; package redisstore implements it. Replace*
// write new only while the stored record still equals old (compare and
// swap), so a rotation never overwrites a concurrent change.
type Store interface {
	PutRegistry(ctx context.Context, r Registry) error
	GetRegistry(ctx context.Context, name string) (Registry, error)
	ListRegistries(ctx context.Context) ([]Registry, error)
	DeleteRegistry(ctx context.Context, name string) error
	ReplaceRegistry(ctx context.Context, old, new Registry) (bool, error)

	PutEnv(ctx context.Context, workload, key string, v EnvValue) error
	GetEnv(ctx context.Context, workload string) (map[string]EnvValue, error)
	DeleteEnv(ctx context.Context, workload, key string) error
	EnvWorkloads(ctx context.Context) ([]string, error)
	ReplaceEnv(ctx context.Context, workload, key string, old, new EnvValue) (bool, error)
}

// Vault seals on write and opens on read. Keys may be nil: then plain env
// overrides still work and everything secret fails with ErrNoKey.
type Vault struct {
	Store Store
	Keys  *Keyring
	// Scope stamps the records this vault writes (tinyforge registry add
	// and env set --scope): see Registry.Scope and EnvValue.Scope.
	Scope string
}

var (
	registryName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	envKey       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,254}$`)
)

// CheckRegistryName refuses names that could not be a registry label value.
func CheckRegistryName(name string) error {
	if !registryName.MatchString(name) {
		return fmt.Errorf("registry name %q: want 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

func checkEnv(workload, key string) error {
	if !labels.ValidWorkloadName(workload) {
		return fmt.Errorf("workload %q: want a DNS label (lowercase letters, digits, '-')", workload)
	}
	if !envKey.MatchString(key) {
		return fmt.Errorf("env key %q: want a letter or '_' then letters, digits, '_', '.' or '-'", key)
	}
	return nil
}

// registryContext and envContext bind a sealed value to its name and
// scope: a value moved to another name or scope in Redis does not open.
func registryContext(name, scope string) string { return "registry/" + name + "/token" + scoped(scope) }

func envContext(workload, key, scope string) string {
	return "env/" + workload + "/" + key + scoped(scope)
}

// scoped is "" for no scope, so values sealed before scopes existed open.
func scoped(scope string) string {
	if scope == "" {
		return ""
	}
	return "/scope/" + scope
}

// AddRegistry stores credentials for url under name, the token sealed.
// An existing registry of that name is replaced.
func (v *Vault) AddRegistry(ctx context.Context, name, url, username, token string) error {
	if err := CheckRegistryName(name); err != nil {
		return err
	}
	if _, err := RegistryHost(url); err != nil {
		return fmt.Errorf("registry %s: %w", name, err)
	}
	if token == "" {
		return fmt.Errorf("registry %s: empty token", name)
	}
	sealed, err := v.Keys.Seal([]byte(token), registryContext(name, v.Scope))
	if err != nil {
		return fmt.Errorf("registry %s: %w", name, err)
	}
	return v.Store.PutRegistry(ctx, Registry{Name: name, URL: url, Username: username, Token: sealed, Scope: v.Scope})
}

// SetEnv stores an env override of workload, sealed when secret.
func (v *Vault) SetEnv(ctx context.Context, workload, key, value string, secret bool) error {
	if err := checkEnv(workload, key); err != nil {
		return err
	}
	ev := EnvValue{Value: value, Secret: secret, Scope: v.Scope}
	if secret {
		sealed, err := v.Keys.Seal([]byte(value), envContext(workload, key, v.Scope))
		if err != nil {
			return fmt.Errorf("env %s of %s: %w", key, workload, err)
		}
		ev.Value = sealed
	}
	return v.Store.PutEnv(ctx, workload, key, ev)
}

// EnvOverrides returns the stored overrides of workload that belong to
// scope (the workload's controller key scope), decrypted. A value of
// another scope, or a secret that cannot be opened, is left out and its
// key listed in skipped, so one bad value never blocks a deploy; only a
// store failure is an error.
func (v *Vault) EnvOverrides(ctx context.Context, workload, scope string) (env map[string]string, skipped []string, err error) {
	stored, err := v.Store.GetEnv(ctx, workload)
	if err != nil {
		return nil, nil, fmt.Errorf("env overrides of %s: %w", workload, err)
	}
	env = make(map[string]string, len(stored))
	for key, ev := range stored {
		if ev.Scope != scope {
			skipped = append(skipped, key)
			continue
		}
		if !ev.Secret {
			env[key] = ev.Value
			continue
		}
		pt, err := v.Keys.Open(ev.Value, envContext(workload, key, ev.Scope))
		if err != nil {
			skipped = append(skipped, key)
			continue
		}
		env[key] = string(pt)
	}
	return env, skipped, nil
}
