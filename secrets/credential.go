package secrets

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tinyforge/tinyforge/imageref"
)

// Credential is what a pull sends to a registry. Its String and GoString
// hide the secret parts, so formatting one by mistake leaks nothing.
type Credential struct {
	ServerAddress string
	Username      string
	Password      string
}

func (c Credential) String() string   { return "credential for " + c.ServerAddress + " (redacted)" }
func (c Credential) GoString() string { return c.String() }

// Credential opens the registry credentials stored as name for a pull from
// imageHost (the registry host of the image reference, as
// imageref.Parse gives it). Credentials are only ever sent to the host
// they were stored for: a mismatch is an error, not an anonymous pull.
func (v *Vault) Credential(ctx context.Context, name, imageHost string) (Credential, error) {
	r, err := v.Store.GetRegistry(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return Credential{}, fmt.Errorf("registry credentials %q: not stored (tinyforge registry add %s ...)", name, name)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("registry credentials %q: %w", name, err)
	}
	host, err := RegistryHost(r.URL)
	if err != nil {
		return Credential{}, fmt.Errorf("registry credentials %q: %w", name, err)
	}
	if imageref.CanonicalHost(imageHost) != host {
		return Credential{}, fmt.Errorf("registry credentials %q are for %s, not for images on %s", name, host, imageref.CanonicalHost(imageHost))
	}
	token, err := v.Keys.Open(r.Token, registryContext(name, r.Scope))
	if err != nil {
		return Credential{}, fmt.Errorf("registry credentials %q: token: %w", name, err)
	}
	c := Credential{ServerAddress: r.URL, Username: r.Username, Password: string(token)}
	if c.Username == "" {
		c.Username = c.Password // token-as-username registries
	}
	return c, nil
}

// RegistryHost returns the canonical host[:port] of a registry URL given
// with or without a scheme: "https://Index.Docker.io/v1/" -> "docker.io".
func RegistryHost(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("empty registry URL")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("registry URL %q: want a host[:port], optionally with http(s):// and a path", raw)
	}
	return imageref.CanonicalHost(u.Host), nil
}

// RegistryScope returns the controller key scope the credentials stored
// as name belong to, so the deployer can refuse them to a workload of
// another scope before any pull.
func (v *Vault) RegistryScope(ctx context.Context, name string) (string, error) {
	r, err := v.Store.GetRegistry(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("registry credentials %q: not stored (tinyforge registry add %s ...)", name, name)
	}
	if err != nil {
		return "", fmt.Errorf("registry credentials %q: %w", name, err)
	}
	return r.Scope, nil
}
