package sidecar

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/labelsig"
	"github.com/tinyforge/tinyforge/policy"
	"github.com/tinyforge/tinyforge/secrets"
)

// Security is the part of the config no label can widen, and where the
// secrets come from. Every secret can be given as a file (TINYFORGE_*_FILE,
// for Docker/compose secrets) instead of a value.
type Security struct {
	SecretKeyFile    string
	SecretOldKeyFile string
	// ControllerKeyFile, when set, makes the sidecar obey only controllers
	// signed by one of its keys (see labelsig.ParseControllerKeys).
	ControllerKeyFile string

	AllowedImages      string
	AllowedVolumePaths string
	// AllowedNamedVolumes are Docker volume names a named volume may use as
	// they are; any other is namespaced to its workload.
	AllowedNamedVolumes string
	MaxCPU              string
	MaxMemory           string
	DefaultCPU          string
	DefaultMemory       string
	MaxPIDs             int

	// Resolved by Parse from the settings above.
	Images      policy.Images
	VolumePaths policy.Paths
	Limits      policy.Limits
	Keys        *secrets.Keyring // nil: no secret key configured
	// ControllerKeys verify controller signatures; nil without the flag.
	ControllerKeys *labelsig.ControllerKeys
}

func (s *Security) flags(e *envFlags) {
	e.str(&s.SecretKeyFile, "secret-key-file", "", "file holding the AES-256 key sealing registry tokens and secret env (32 raw bytes, 64 hex or 44 base64 characters)")
	e.str(&s.SecretOldKeyFile, "secret-old-key-file", "", "previous secret key, still accepted for reading during a rotation")
	e.str(&s.ControllerKeyFile, "controller-key-file", "", "file of controller keys, one '[scope:]<64 hex>' a line: only controllers whose tinyforge.signature one of them made are obeyed (tinyforge labels sign)")
	e.str(&s.AllowedImages, "allowed-images", "", "comma-separated registries (ghcr.io) or repository prefixes (ghcr.io/acme) the sidecar may pull; unset: any")
	e.str(&s.AllowedVolumePaths, "allowed-volume-paths", "", "comma-separated host directories absolute binds must stay beneath; unset: no host binds")
	e.str(&s.AllowedNamedVolumes, "allowed-named-volumes", "", "comma-separated Docker volume names a named volume may use as they are (shared between workloads); any other name becomes tf-<workload>_<name>")
	e.str(&s.MaxCPU, "max-cpu", "", "highest CPU limit (cores) any container gets; unset: none")
	e.str(&s.MaxMemory, "max-memory", "", "highest memory limit (e.g. 1g) any container gets; unset: none")
	e.str(&s.DefaultCPU, "default-cpu", "", "CPU limit (cores) of containers whose workload sets none")
	e.integer(&s.MaxPIDs, "max-pids", policy.DefaultMaxPIDs, "PIDs limit of every container (a workload's pidsLimit may only lower it); 0 = none")
	e.str(&s.DefaultMemory, "default-memory", "", "memory limit (e.g. 256m) of containers whose workload sets none")
}

// secret defines a secret flag and its -file twin (--<name>-file,
// TINYFORGE_<NAME>_FILE), as Docker and Kubernetes mount secrets. The
// usage text never shows a value taken from the environment (a mistyped
// flag prints the usage, which must not put a token on a terminal or in a
// log); after parsing, a file given is read into the value.
func (e *envFlags) secret(p *string, name, def, usage string) {
	*p = e.lookup(name, def)
	e.fs.Var(secretValue{p: p, def: def}, name, e.usage(name, usage))
	var file string
	e.str(&file, name+"-file", "", "file holding --"+name)
	e.after = append(e.after, func() error {
		if file != "" && *p == def {
			*p = "" // a default is not a value given twice
		}
		v, err := tokenFrom(name, *p, file)
		*p = v
		return err
	})
}

// secretValue is a flag.Value whose String is the static default only.
type secretValue struct {
	p   *string
	def string
}

func (v secretValue) String() string     { return v.def }
func (v secretValue) Set(s string) error { *v.p = s; return nil }

// resolveSecurity reads the secret files and parses the policy.
func (c *Config) resolveSecurity() error {
	s := &c.Security
	var err error
	if n := container.NetworkMode(c.Network); n.IsHost() || n.IsContainer() || n.IsNone() {
		return fmt.Errorf("--network %q: workload containers need a network of their own (a bridge network name)", c.Network)
	}
	if s.Images, err = policy.ParseImages(splitList(s.AllowedImages)); err != nil {
		return fmt.Errorf("--allowed-images: %w", err)
	}
	if s.VolumePaths, err = policy.ParsePaths(splitList(s.AllowedVolumePaths)); err != nil {
		return fmt.Errorf("--allowed-volume-paths: %w", err)
	}
	for _, v := range splitList(s.AllowedNamedVolumes) {
		if !labels.ValidVolumeName(v) {
			return fmt.Errorf("--allowed-named-volumes: %q is not a Docker volume name (letters, digits, '_', '.', '-', starting with a letter or digit)", v)
		}
	}
	if s.Limits, err = parseLimits(s); err != nil {
		return err
	}
	if s.SecretOldKeyFile != "" && s.SecretKeyFile == "" {
		return fmt.Errorf("--secret-old-key-file is set without --secret-key-file")
	}
	if s.Keys, err = secrets.LoadKeyring(s.SecretKeyFile, s.SecretOldKeyFile); err != nil {
		return fmt.Errorf("--secret-key-file: %w", err)
	}
	return c.resolveControllerKeys()
}

// tokenFrom returns the token given directly or read from file; both at
// once is an error (which one would win is not obvious). A value from the
// environment counts as given.
func tokenFrom(flagName, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("--%s and --%s-file are both set: use one", flagName, flagName)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--%s-file: %w", flagName, err)
	}
	tok := string(bytes.TrimSpace(b))
	if tok == "" {
		return "", fmt.Errorf("--%s-file %s is empty", flagName, file)
	}
	if strings.ContainsAny(tok, "\r\n") {
		return "", fmt.Errorf("--%s-file %s: more than one line", flagName, file)
	}
	return tok, nil
}

func parseLimits(s *Security) (policy.Limits, error) {
	var l policy.Limits
	var err error
	if s.MaxPIDs < 0 {
		return l, fmt.Errorf("--max-pids: %d is negative (0 = no limit)", s.MaxPIDs)
	}
	l.MaxPIDs = int64(s.MaxPIDs)
	if l.MaxNanoCPUs, err = policy.ParseCPU(s.MaxCPU); err != nil {
		return l, fmt.Errorf("--max-cpu: %w", err)
	}
	if l.DefaultNanoCPUs, err = policy.ParseCPU(s.DefaultCPU); err != nil {
		return l, fmt.Errorf("--default-cpu: %w", err)
	}
	if l.MaxMemory, err = policy.ParseMemory(s.MaxMemory); err != nil {
		return l, fmt.Errorf("--max-memory: %w", err)
	}
	if l.DefaultMemory, err = policy.ParseMemory(s.DefaultMemory); err != nil {
		return l, fmt.Errorf("--default-memory: %w", err)
	}
	return l, l.Validate()
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
