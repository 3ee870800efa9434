package sidecar

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/controllers"
	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/intake"
	"github.com/tinyforge/tinyforge/labelsig"
	"github.com/tinyforge/tinyforge/secrets"
)

// The controllers tell intake which workloads in conflict refuse their
// deliveries, and why.
var _ intake.Refusing = (*controllers.Watcher)(nil)

// identityInfo is the HKDF info string deriving the key that signs managed
// containers from the secret key: fixed, so every sidecar sharing the
// secret key (and the admin commands) derives the same key.
const identityInfo = "tinyforge/v1/managed-container-identity"

// identitySigner is the signer of managed containers, derived from the
// secret keyring (current key signs, old keys still verify), or nil
// without a secret key: then tinyforge.managed=true is believed as is.
func identitySigner(keys *secrets.Keyring) deployer.Signer {
	derived := keys.Derive(identityInfo)
	if len(derived) == 0 {
		return nil // a nil interface, not a nil *MAC
	}
	return labelsig.NewMAC(derived[0], derived[1:]...)
}

// resolveControllerKeys loads --controller-key-file, if set.
func (c *Config) resolveControllerKeys() error {
	if c.ControllerKeyFile == "" {
		return nil
	}
	keys, err := labelsig.LoadControllerKeys(c.ControllerKeyFile)
	if err != nil {
		return fmt.Errorf("--controller-key-file: %w", err)
	}
	c.ControllerKeys = keys
	return nil
}

// reservedHosts are the host names no workload may claim: the sidecar's
// own hooks host.
func reservedHosts(cfg Config) map[string]string {
	if cfg.Edge.HooksHost == "" {
		return nil
	}
	return map[string]string{cfg.Edge.HooksHost: "reserved: the sidecar's --hooks-host"}
}

// logTrust says at start whom the sidecar believes, so an operator sees a
// missing defence in the first lines of the log.
func logTrust(cfg Config, signer deployer.Signer, log zerolog.Logger) {
	if signer == nil {
		log.Warn().Msg("no --secret-key-file: managed containers are not signed, so a container anyone labels tinyforge.managed=true is believed (see docs/security.md)")
	}
	if !cfg.ControllerKeys.Enabled() {
		log.Info().Msg("no --controller-key-file: every controller on this Docker engine (in this --scope) is obeyed (see docs/security.md)")
	}
}
