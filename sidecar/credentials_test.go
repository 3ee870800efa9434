package sidecar

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/redisstore"
	"github.com/tinyforge/tinyforge/secrets"
)

// basicAuthRegistry fronts a registry with HTTP basic auth, as private
// registries do, and records every credential the engine presents.
type basicAuthRegistry struct {
	host  string
	mu    sync.Mutex
	seen  []string // "user:password" per authenticated request, "" for anonymous
	users map[string]string
}

func newBasicAuthRegistry(t *testing.T, backend string, users map[string]string) *basicAuthRegistry {
	t.Helper()
	target, _ := url.Parse("http://" + backend)
	proxy := httputil.NewSingleHostReverseProxy(target)
	b := &basicAuthRegistry{users: users}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		b.mu.Lock()
		if ok {
			b.seen = append(b.seen, u+":"+p)
		} else {
			b.seen = append(b.seen, "")
		}
		b.mu.Unlock()
		if !ok || b.users[u] != p {
			w.Header().Set("WWW-Authenticate", `Basic realm="tinyforge-test"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	b.host = strings.TrimPrefix(srv.URL, "http://")
	return b
}

func (b *basicAuthRegistry) credentials() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []string{}
	for _, s := range b.seen {
		if s != "" {
			out = append(out, s)
		}
	}
	b.seen = nil
	return out
}

// TestPullWithStoredCredentials pulls through the real engine from a
// registry that requires basic auth, with credentials sealed in a real
// Redis: the engine presents exactly the stored username and the decrypted
// token, or the token as both for a registry stored without username;
// missing, foreign-host and undecryptable credentials fail before the
// registry sees anything, and no error carries the token.
func TestPullWithStoredCredentials(t *testing.T) {
	cli := testsvc.Docker(t)
	reg := testsvc.Registry(t, nil)
	const token, tokenOnly = "registry-token-under-test", "token-only-under-test"
	auth := newBasicAuthRegistry(t, reg.Host, map[string]string{"robot": token, tokenOnly: tokenOnly})
	repo := "tinyforge-" + testsvc.RunID + "/private"
	testsvc.BuildImage(t, cli, reg.Ref(repo+":v1"), map[string]string{"APP_VERSION": "private"})
	testsvc.Push(t, cli, reg.Ref(repo+":v1"))
	ref := auth.host + "/" + repo + ":v1"

	redis := testsvc.Redis(t)
	store, err := redisstore.Open(context.Background(), redis.URL, "tf-cred:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	keys, _ := secrets.NewKeyring([]byte(strings.Repeat("k", 32)))
	vault := &secrets.Vault{Store: store, Keys: keys}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(vault.AddRegistry(ctx, "private", "http://"+auth.host, "robot", token))
	must(vault.AddRegistry(ctx, "tokenonly", auth.host, "", tokenOnly))
	must(vault.AddRegistry(ctx, "ghcr", "ghcr.io", "robot", token))

	h := dockerhost.New(cli)
	h.PullAuth = pullAuth(vault)

	if _, err := h.Pull(ctx, ref, ""); err == nil {
		t.Fatal("anonymous pull from the private registry succeeded")
	}
	if got := auth.credentials(); len(got) != 0 {
		t.Fatalf("anonymous pull presented credentials %v", got)
	}

	if _, err := h.Pull(ctx, ref, "private"); err != nil {
		t.Fatalf("pull with stored credentials: %v", err)
	}
	presented := auth.credentials()
	if len(presented) == 0 {
		t.Fatal("the engine presented no credentials")
	}
	for _, c := range presented {
		if c != "robot:"+token {
			t.Fatalf("engine presented %q, want robot:<token>", c)
		}
	}
	if _, err := h.Pull(ctx, ref, "tokenonly"); err != nil {
		t.Fatalf("pull with token-as-username: %v", err)
	}
	got := auth.credentials()
	if len(got) == 0 || got[0] != tokenOnly+":"+tokenOnly {
		t.Fatalf("token-as-username presented %v", got)
	}

	bad := []struct {
		creds string
		want  string
	}{
		{"missing", `registry credentials "missing": not stored`},
		{"ghcr", `registry credentials "ghcr" are for ghcr.io, not for images on ` + auth.host},
	}
	otherKeys, _ := secrets.NewKeyring([]byte(strings.Repeat("x", 32)))
	wrongKey := dockerhost.New(cli)
	wrongKey.PullAuth = pullAuth(&secrets.Vault{Store: store, Keys: otherKeys})
	for _, b := range bad {
		_, err := h.Pull(ctx, ref, b.creds)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("pull = %v, want %q", err, b.want)
		}
		t.Logf("bad credentials -> %v", err)
	}
	_, err = wrongKey.Pull(ctx, ref, "private")
	if err == nil || !strings.Contains(err.Error(), `registry credentials "private": token: cannot decrypt`) {
		t.Errorf("pull with the wrong key = %v", err)
	}
	t.Logf("wrong key -> %v", err)
	if got := auth.credentials(); len(got) != 0 {
		t.Errorf("refused credentials still reached the registry: %d requests", len(got))
	}
	if strings.Contains(err.Error(), token) {
		t.Error("error carries the token")
	}
}

// TestRegistryLoginKeepsToItsScope: the registry client of the poller and
// the intake reads stored credentials only for a workload of the key scope
// that stored them, as the deployer's pull does.
func TestRegistryLoginKeepsToItsScope(t *testing.T) {
	redis := testsvc.Redis(t)
	store, err := redisstore.Open(context.Background(), redis.URL, "tf-login-"+testsvc.RunID+":")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	keys, _ := secrets.NewKeyring([]byte(strings.Repeat("k", 32)))
	ctx := context.Background()
	teamA := &secrets.Vault{Store: store, Keys: keys, Scope: "team-a"}
	if err := teamA.AddRegistry(ctx, "ghcr", "https://ghcr.io", "robot", "token-of-team-a"); err != nil {
		t.Fatal(err)
	}
	login := registryLogin(&secrets.Vault{Store: store, Keys: keys})
	if user, pass, ok, err := login(ctx, "ghcr", "team-a", "ghcr.io"); err != nil || !ok || user != "robot" || pass != "token-of-team-a" {
		t.Fatalf("own scope: %q %q %v %v", user, pass, ok, err)
	}
	for _, scope := range []string{"", "team-b"} {
		_, pass, ok, err := login(ctx, "ghcr", scope, "ghcr.io")
		if !errors.Is(err, deployer.ErrForeignScope) || ok || pass != "" {
			t.Errorf("workload of scope %q got %q, %v, %v: want ErrForeignScope and no token", scope, pass, ok, err)
		}
	}
}
