package secrets

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// dockerConfig is the part of a Docker client config.json that holds
// credentials (~/.docker/config.json).
type dockerConfig struct {
	Auths map[string]struct {
		Auth          string `json:"auth"`
		Username      string `json:"username"`
		Password      string `json:"password"`
		IdentityToken string `json:"identitytoken"`
	} `json:"auths"`
	CredsStore  string            `json:"credsStore"`
	CredHelpers map[string]string `json:"credHelpers"`
}

// FromDockerConfig finds the credentials for registryURL in the content of
// a Docker config.json and returns its username and password (or token).
// Entries are matched by canonical host, so "https://index.docker.io/v1/"
// serves docker.io. Errors never quote the file's content.
func FromDockerConfig(data []byte, registryURL string) (username, password string, err error) {
	want, err := RegistryHost(registryURL)
	if err != nil {
		return "", "", err
	}
	var cfg dockerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", "", errors.New("docker config: not a JSON config.json")
	}
	for key, a := range cfg.Auths {
		host, err := RegistryHost(key)
		if err != nil || host != want {
			continue
		}
		username, password = a.Username, a.Password
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return "", "", fmt.Errorf("docker config: auths[%q].auth is not base64", key)
			}
			u, p, ok := strings.Cut(string(raw), ":")
			if !ok {
				return "", "", fmt.Errorf("docker config: auths[%q].auth is not base64(username:password)", key)
			}
			username, password = u, p
		}
		if password == "" && a.IdentityToken != "" {
			return "", "", fmt.Errorf("docker config: auths[%q] holds an identity token (OAuth), not a password or access token: use --username and --token", key)
		}
		if password != "" {
			return username, password, nil
		}
	}
	if helper := cfg.CredHelpers[want]; helper != "" {
		return "", "", fmt.Errorf("docker config: credentials for %s are kept by the credential helper %q: use --username and --token", want, helper)
	}
	if cfg.CredsStore != "" {
		return "", "", fmt.Errorf("docker config: credentials are kept by the credential store %q, not in the file: use --username and --token", cfg.CredsStore)
	}
	return "", "", fmt.Errorf("docker config: no credentials for %s in auths", want)
}
