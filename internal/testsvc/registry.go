package testsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// Notify points a registry's webhook notifications at a receiver.
type Notify struct {
	URL   string // where the registry POSTs its event envelopes
	Token string // sent as "Authorization: Bearer <Token>"; none when ""
}

// RegistryServer is a private CNCF distribution 2.8 registry on loopback.
type RegistryServer struct {
	// Host is "127.0.0.1:<port>", the prefix of image references pushed to it.
	Host string
	// Dir holds the config, the storage and the process log.
	Dir string
}

// Ref returns Host + "/" + path, e.g. Ref("app:v1").
func (r *RegistryServer) Ref(path string) string { return r.Host + "/" + path }

// Registry starts `docker-registry serve` (distribution 2.8) on a free
// loopback port with filesystem storage in a test temp dir and deletes
// enabled. With notify, every push and pull is also posted to notify.URL
// (1 s timeout, 5 failures before a 200 ms backoff). The engine trusts
// loopback registries, so no TLS is needed.
func Registry(t testing.TB, notify *Notify) *RegistryServer {
	t.Helper()
	SkipShort(t, "docker-registry")
	return RegistryAt(t, fmt.Sprintf("127.0.0.1:%d", FreePort(t)), notify)
}

// RegistryAt is Registry listening on host ("ip:port"), such as a private
// net's host address (PrivateNet.HostAddr), which private engines reach
// and trust (they are started with it as an insecure registry).
func RegistryAt(t testing.TB, host string, notify *Notify) *RegistryServer {
	t.Helper()
	bin := LookBinary(t, "docker-registry")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(registryConfig(host, filepath.Join(dir, "data"), notify)), 0o600); err != nil {
		t.Fatalf("registry config: %v", err)
	}
	StartProcess(t, dir, bin, "serve", cfg)
	if err := waitRegistry(host, 15*time.Second); err != nil {
		t.Fatalf("docker-registry: %v", err)
	}
	return &RegistryServer{Host: host, Dir: dir}
}

// registryConfig renders the distribution 2.8 config. Strings are written as
// JSON strings, which YAML reads as double-quoted scalars.
func registryConfig(addr, root string, notify *Notify) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %s
`, q(root), q(addr), q("tinyforge-test-"+RunID))
	if notify == nil {
		return cfg
	}
	cfg += fmt.Sprintf(`notifications:
  endpoints:
    - name: tinyforge
      url: %s
      timeout: 1s
      threshold: 5
      backoff: 200ms
`, q(notify.URL))
	if notify.Token != "" {
		cfg += fmt.Sprintf(`      headers:
        Authorization: [%s]
`, q("Bearer "+notify.Token))
	}
	return cfg
}

// waitRegistry waits until the registry answers GET /v2/ with 200.
func waitRegistry(host string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get("http://" + host + "/v2/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /v2/: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w", host, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Push pushes ref (already built or tagged locally) through the Engine,
// anonymously, reads the whole progress stream and fails the test on any
// error in it. It returns the manifest digest the registry reported.
func Push(t testing.TB, cli *client.Client, ref string) string {
	t.Helper()
	auth, err := registry.EncodeAuthConfig(registry.AuthConfig{})
	if err != nil {
		t.Fatalf("push %s: encode auth: %v", ref, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body, err := cli.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	defer body.Close()
	var digest string
	err = jsonmessage.DisplayJSONMessagesStream(body, io.Discard, 0, false, func(m jsonmessage.JSONMessage) {
		var aux struct{ Digest string }
		if m.Aux != nil && json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
			digest = aux.Digest
		}
	})
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return digest
}
