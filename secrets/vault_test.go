package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func newVault(t *testing.T, current []byte, old ...[]byte) (*Vault, *memStore) {
	t.Helper()
	k, err := NewKeyring(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	st := newMemStore()
	return &Vault{Store: st, Keys: k}, st
}

func TestRegistryCredential(t *testing.T) {
	ctx := context.Background()
	v, st := newVault(t, testKey(1))
	const token = "ghp_registry-token-value"
	if err := v.AddRegistry(ctx, "ghcr", "https://ghcr.io", "acme-bot", token); err != nil {
		t.Fatal(err)
	}
	if err := v.AddRegistry(ctx, "do", "registry.digitalocean.com", "", "dop_v1_token"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(st.regs["ghcr"].Token, token) {
		t.Fatal("token stored in clear")
	}

	c, err := v.Credential(ctx, "ghcr", "GHCR.io")
	if err != nil || c.Username != "acme-bot" || c.Password != token || c.ServerAddress != "https://ghcr.io" {
		t.Fatalf("Credential = %#v %v", c, err)
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c)} {
		if strings.Contains(s, token) || strings.Contains(s, "acme-bot") {
			t.Errorf("formatting a credential leaks it: %s", s)
		}
	}
	// No username: the token is the username too.
	if c, err := v.Credential(ctx, "do", "registry.digitalocean.com"); err != nil || c.Username != "dop_v1_token" || c.Password != "dop_v1_token" {
		t.Fatalf("token-as-username Credential = %v", err)
	}

	bad := []struct {
		name, host, want string
	}{
		{"ghcr", "docker.io", `registry credentials "ghcr" are for ghcr.io, not for images on docker.io`},
		{"ghcr", "evil.example/ghcr.io", "not for images on evil.example/ghcr.io"},
		{"nope", "ghcr.io", `registry credentials "nope": not stored`},
	}
	for _, b := range bad {
		_, err := v.Credential(ctx, b.name, b.host)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Credential(%s, %s) = %v, want %q", b.name, b.host, err, b.want)
		}
	}

	// Another key cannot open it, and says so without the token.
	other, _ := NewKeyring(testKey(2))
	_, err = (&Vault{Store: st, Keys: other}).Credential(ctx, "ghcr", "ghcr.io")
	if !errors.Is(err, ErrDecrypt) || strings.Contains(err.Error(), token) {
		t.Errorf("Credential with the wrong key = %v", err)
	}
	_, err = (&Vault{Store: st}).Credential(ctx, "ghcr", "ghcr.io")
	if !errors.Is(err, ErrNoKey) {
		t.Errorf("Credential without key = %v", err)
	}
	// A token copied onto another registry's record does not open there.
	r := st.regs["do"]
	r.Token = st.regs["ghcr"].Token
	st.regs["do"] = r
	if _, err := v.Credential(ctx, "do", "registry.digitalocean.com"); !errors.Is(err, ErrDecrypt) {
		t.Errorf("swapped token = %v, want ErrDecrypt", err)
	}
}

func TestAddRegistryRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t, testKey(1))
	cases := []struct{ name, url, token, want string }{
		{"Bad Name", "ghcr.io", "t", `registry name "Bad Name"`},
		{"", "ghcr.io", "t", `registry name ""`},
		{"ok", "", "t", "empty registry URL"},
		{"ok", "ftp://host", "t", `registry URL "ftp://host"`},
		{"ok", "https://user:pw@host", "t", "want a host[:port]"},
		{"ok", "ghcr.io", "", "empty token"},
	}
	for _, c := range cases {
		err := v.AddRegistry(ctx, c.name, c.url, "", c.token)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AddRegistry(%q, %q) = %v, want %q", c.name, c.url, err, c.want)
		}
	}
	if err := (&Vault{Store: newMemStore()}).AddRegistry(ctx, "ok", "ghcr.io", "", "t"); !errors.Is(err, ErrNoKey) {
		t.Errorf("AddRegistry without key = %v", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	ctx := context.Background()
	v, st := newVault(t, testKey(1))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(v.SetEnv(ctx, "web", "LOG_LEVEL", "debug", false))
	must(v.SetEnv(ctx, "web", "DB_PASSWORD", "s3cret-db", true))
	must(v.SetEnv(ctx, "web", "API_KEY", "s3cret-api", true))
	if strings.Contains(st.env["web"]["DB_PASSWORD"].Value, "s3cret") || st.env["web"]["LOG_LEVEL"].Value != "debug" {
		t.Fatalf("stored: %+v", st.env["web"])
	}
	// One value damaged in Redis: it is skipped, by key, the rest survives.
	ev := st.env["web"]["API_KEY"]
	ev.Value = st.env["web"]["DB_PASSWORD"].Value // sealed for another key
	st.env["web"]["API_KEY"] = ev

	env, skipped, err := v.EnvOverrides(ctx, "web", "")
	if err != nil {
		t.Fatal(err)
	}
	if env["LOG_LEVEL"] != "debug" || env["DB_PASSWORD"] != "s3cret-db" || len(env) != 2 {
		t.Errorf("env = %v", env)
	}
	if !slices.Equal(skipped, []string{"API_KEY"}) {
		t.Errorf("skipped = %v, want [API_KEY]", skipped)
	}
	// Without a key: plain values still come, secret ones are skipped.
	env, skipped, _ = (&Vault{Store: st}).EnvOverrides(ctx, "web", "")
	slices.Sort(skipped)
	if len(env) != 1 || !slices.Equal(skipped, []string{"API_KEY", "DB_PASSWORD"}) {
		t.Errorf("without key: env %v skipped %v", env, skipped)
	}

	for _, c := range []struct{ w, k, want string }{
		{"Web", "A", `workload "Web"`},
		{"web", "A=B", `env key "A=B"`},
		{"web", "", `env key ""`},
		{"web", "1A", `env key "1A"`},
		{"web", "A\nB", `env key "A\nB"`},
	} {
		if err := v.SetEnv(ctx, c.w, c.k, "v", false); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetEnv(%q, %q) = %v, want %q", c.w, c.k, err, c.want)
		}
	}
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	old, st := newVault(t, testKey(1))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(old.AddRegistry(ctx, "ghcr", "ghcr.io", "bot", "tok-1"))
	must(old.SetEnv(ctx, "web", "PLAIN", "p", false))
	must(old.SetEnv(ctx, "web", "SECRET", "s", true))
	must(old.SetEnv(ctx, "api", "SECRET", "s2", true))
	// One value sealed under a key nobody has any more.
	lost, _ := NewKeyring(testKey(9))
	sealed, _ := lost.Seal([]byte("gone"), envContext("api", "LOST", ""))
	st.env["api"]["LOST"] = EnvValue{Value: sealed, Secret: true}

	k, _ := NewKeyring(testKey(2), testKey(1))
	v := &Vault{Store: st, Keys: k}
	rep, err := v.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resealed != 3 || rep.Unchanged != 1 || len(rep.Failed) != 1 || !strings.HasPrefix(rep.Failed[0], "env api LOST: cannot decrypt") {
		t.Fatalf("report = %+v", rep)
	}
	// Everything now opens with the new key alone.
	onlyNew, _ := NewKeyring(testKey(2))
	nv := &Vault{Store: st, Keys: onlyNew}
	if c, err := nv.Credential(ctx, "ghcr", "ghcr.io"); err != nil || c.Password != "tok-1" {
		t.Errorf("after rotate: %v", err)
	}
	env, skipped, _ := nv.EnvOverrides(ctx, "web", "")
	if env["SECRET"] != "s" || len(skipped) != 0 {
		t.Errorf("after rotate: env %v skipped %v", env, skipped)
	}
	// A second run has nothing left to do but the lost value.
	rep, _ = v.Rotate(ctx)
	if rep.Resealed != 0 || rep.Unchanged != 4 || len(rep.Failed) != 1 {
		t.Errorf("second rotate = %+v", rep)
	}

	// A concurrent `env set` between read and write is never overwritten.
	must(old.SetEnv(ctx, "race", "K", "before", true))
	k3, _ := NewKeyring(testKey(3), testKey(1), testKey(2))
	v3 := &Vault{Store: st, Keys: k3}
	st.beforeReplace = func() {
		st.beforeReplace = nil
		_ = v3.SetEnv(ctx, "race", "K", "during", true)
	}
	if _, err := v3.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	env, _, _ = v3.EnvOverrides(ctx, "race", "")
	if env["K"] != "during" {
		t.Errorf("concurrent write lost: K = %q", env["K"])
	}
}

func TestFromDockerConfig(t *testing.T) {
	cfg := `{
	  "auths": {
	    "https://index.docker.io/v1/": {"auth": "ZG9ja2VydXNlcjpkb2NrZXJwYXNz"},
	    "ghcr.io": {"username": "bot", "password": "ghp_x"},
	    "oauth.example": {"identitytoken": "refresh"},
	    "broken.example": {"auth": "%%%"}
	  },
	  "credHelpers": {"123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"}
	}`
	good := []struct{ url, user, pass string }{
		{"docker.io", "dockeruser", "dockerpass"},
		{"https://registry-1.docker.io", "dockeruser", "dockerpass"},
		{"ghcr.io", "bot", "ghp_x"},
	}
	for _, g := range good {
		u, p, err := FromDockerConfig([]byte(cfg), g.url)
		if err != nil || u != g.user || p != g.pass {
			t.Errorf("FromDockerConfig(%s) = %q %q %v", g.url, u, p, err)
		}
	}
	bad := []struct{ cfg, url, want string }{
		{cfg, "oauth.example", "identity token"},
		{cfg, "broken.example", "not base64"},
		{cfg, "123.dkr.ecr.us-east-1.amazonaws.com", `credential helper "ecr-login"`},
		{cfg, "quay.io", "no credentials for quay.io"},
		{`{"credsStore": "desktop"}`, "ghcr.io", `credential store "desktop"`},
		{`not json ghp_secret`, "ghcr.io", "not a JSON config.json"},
		{cfg, "", "empty registry URL"},
	}
	for _, b := range bad {
		_, _, err := FromDockerConfig([]byte(b.cfg), b.url)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("FromDockerConfig(%s) = %v, want %q", b.url, err, b.want)
		}
		if err != nil && (strings.Contains(err.Error(), "ghp_") || strings.Contains(err.Error(), "refresh")) {
			t.Errorf("error quotes a secret: %v", err)
		}
	}
}

// FuzzDockerConfig: no config.json content panics the parser, and
// whatever it returns for a host came from that file.
func FuzzDockerConfig(f *testing.F) {
	f.Add([]byte(`{"auths":{"ghcr.io":{"auth":"dTpw"}}}`), "ghcr.io")
	f.Add([]byte(`{"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p"}}}`), "docker.io")
	f.Add([]byte(`{"credsStore":"x"}`), "ghcr.io")
	f.Fuzz(func(t *testing.T, data []byte, url string) {
		u, p, err := FromDockerConfig(data, url)
		if err == nil && p == "" {
			t.Fatalf("no error but empty password (user %q)", u)
		}
	})
}

// TestScopedValuesReachOnlyTheirScope: env overrides and registry
// credentials stored for a controller key scope reach only workloads of
// that scope, and a sealed value moved to another scope does not open.
func TestScopedValuesReachOnlyTheirScope(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	keys, _ := NewKeyring(testKey(1))
	teamA := &Vault{Store: st, Keys: keys, Scope: "team-a"}
	if err := teamA.SetEnv(ctx, "web", "TOKEN", "a-secret", true); err != nil {
		t.Fatal(err)
	}
	if err := teamA.AddRegistry(ctx, "ghcr", "ghcr.io", "bot", "tok"); err != nil {
		t.Fatal(err)
	}
	v := &Vault{Store: st, Keys: keys}
	if env, skipped, _ := v.EnvOverrides(ctx, "web", "team-a"); env["TOKEN"] != "a-secret" || len(skipped) != 0 {
		t.Fatalf("own scope: env %v skipped %v", env, skipped)
	}
	for _, other := range []string{"", "team-b"} {
		env, skipped, _ := v.EnvOverrides(ctx, "web", other)
		if _, leaked := env["TOKEN"]; leaked || len(skipped) != 1 {
			t.Fatalf("scope %q got team-a's env: %v (skipped %v)", other, env, skipped)
		}
	}
	if s, err := v.RegistryScope(ctx, "ghcr"); err != nil || s != "team-a" {
		t.Fatalf("RegistryScope = %q, %v", s, err)
	}
	// Moving the sealed value to no scope in Redis does not make it open.
	moved := st.env["web"]["TOKEN"]
	moved.Scope = ""
	st.env["web"]["TOKEN"] = moved
	if env, _, _ := v.EnvOverrides(ctx, "web", ""); env["TOKEN"] != "" {
		t.Fatal("a sealed value moved to another scope opened")
	}
}
