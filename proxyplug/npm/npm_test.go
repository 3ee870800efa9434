package npm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/proxyplug/npm"
)

func newPlugin(t *testing.T, f *fakeNPM, mod func(*npm.Options)) *npm.Plugin {
	t.Helper()
	opts := npm.Options{URL: f.URL, Identity: npmUser, Secret: npmPass, Now: f.clock}
	if mod != nil {
		mod(&opts)
	}
	p, err := npm.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func route(face, upstream string) deployer.Route {
	return deployer.Route{ID: "tf-web-" + face, Workload: "web", Face: face, Host: face + ".example.com", Upstream: upstream, Port: 8080}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, p *npm.Plugin, r deployer.Route) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return p.Verify(ctx, r)
}

// handMade creates a proxy host through the API, as a person would in
// NPM's UI.
func handMade(t *testing.T, f *fakeNPM, body string) {
	t.Helper()
	tok := token(t, f)
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/api/nginx/proxy-hosts", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("hand-made host: %s", resp.Status)
	}
}

func token(t *testing.T, f *fakeNPM) string {
	t.Helper()
	resp, err := http.Post(f.URL+"/api/tokens", "application/json", bytes.NewReader([]byte(`{"identity":"`+npmUser+`","secret":"`+npmPass+`"}`)))
	must(t, err)
	defer resp.Body.Close()
	var out struct{ Token string }
	must(t, json.NewDecoder(resp.Body).Decode(&out))
	return out.Token
}

func TestUpsertSwitchInPlaceAndDelete(t *testing.T) {
	f := newFakeNPM(t)
	ctx := context.Background()
	p := newPlugin(t, f, func(o *npm.Options) { o.CertificateID = 4; o.AccessListID = 2; o.AllowedAccessLists = []int{7} })

	blue := route("www", "10.0.0.2:8080")
	must(t, p.Upsert(ctx, blue))
	h := f.host(1)
	want := map[string]any{
		"domain_names": []any{"www.example.com"}, "forward_scheme": "http", "forward_host": "10.0.0.2",
		"forward_port": float64(8080), "certificate_id": float64(4), "access_list_id": float64(2), "ssl_forced": true,
	}
	for k, v := range want {
		if !reflect.DeepEqual(h[k], v) {
			t.Errorf("host.%s = %v, want %v", k, h[k], v)
		}
	}
	if m := h["meta"].(map[string]any); m["tinyforge_route"] != "tf-web-www" || m["nginx_online"] != true {
		t.Errorf("meta = %v", m)
	}
	must(t, verify(t, p, blue))

	green := route("www", "10.0.0.3:8080")
	must(t, p.Upsert(ctx, green))
	if n := f.count(); n != 1 {
		t.Fatalf("%d hosts after the switch, want the one host updated in place", n)
	}
	if h := f.host(1); h["forward_host"] != "10.0.0.3" {
		t.Fatalf("after switch forward_host = %v", h["forward_host"])
	}
	must(t, verify(t, p, green))
	if err := verify(t, p, blue); err == nil || !strings.Contains(err.Error(), "forwards to 10.0.0.3:8080, want 10.0.0.2:8080") {
		t.Errorf("verify of the old upstream = %v", err)
	}

	// A face with an access list the operator allows overrides the default.
	api := route("api", "10.0.0.3:9090")
	api.AccessList = "7"
	must(t, p.Upsert(ctx, api))
	if h := f.host(2); h["access_list_id"] != float64(7) {
		t.Errorf("api access_list_id = %v, want 7", h["access_list_id"])
	}
	ids, err := p.Routes(ctx)
	must(t, err)
	if !reflect.DeepEqual(ids, []string{"tf-web-api", "tf-web-www"}) {
		t.Errorf("Routes = %v", ids)
	}

	must(t, p.Delete(ctx, green))
	must(t, p.Delete(ctx, green)) // already gone: no error
	if f.host(1) != nil || f.host(2) == nil {
		t.Errorf("after delete: www %v, api %v; want www gone, api kept", f.host(1), f.host(2))
	}
}

func TestHandMadeHostsAreKept(t *testing.T) {
	f := newFakeNPM(t)
	ctx := context.Background()
	p := newPlugin(t, f, nil)
	handMade(t, f, `{"domain_names":["blog.example.com"],"forward_scheme":"http","forward_host":"192.0.2.7","forward_port":2368}`)
	handMade(t, f, `{"domain_names":["www.example.com","example.com"],"forward_scheme":"http","forward_host":"192.0.2.8","forward_port":80,"meta":{"letsencrypt_agree":true}}`)

	// Delete of a route whose host was made by hand leaves it.
	must(t, p.Delete(ctx, route("blog", "10.0.0.2:80")))
	if f.host(1) == nil {
		t.Fatal("hand-made host deleted")
	}
	// Upsert over a hand-made host is refused and changes nothing.
	before := f.host(2)
	err := p.Upsert(ctx, route("www", "10.0.0.2:8080"))
	if !errors.Is(err, npm.ErrNotOurs) || !strings.Contains(err.Error(), "proxy host 2 serving www.example.com was not created by tinyforge") {
		t.Fatalf("upsert over a hand-made host = %v, want ErrNotOurs naming host 2", err)
	}
	if h := f.host(2); !reflect.DeepEqual(h, before) {
		t.Errorf("hand-made host changed:\n%v\nwas\n%v", h, before)
	}
	if err := verify(t, p, route("www", "192.0.2.8:80")); !errors.Is(err, npm.ErrNotOurs) {
		t.Errorf("verify against a hand-made host = %v, want ErrNotOurs", err)
	}
	ids, _ := p.Routes(ctx)
	if len(ids) != 0 {
		t.Errorf("Routes = %v, want none", ids)
	}
}

// TestOfflineHostIsAFailedSwitch: nginx rejects the new config; NPM takes
// the host offline and Upsert fails; writing the previous upstream back
// (what the deployer does) brings it online again.
func TestOfflineHostIsAFailedSwitch(t *testing.T) {
	f := newFakeNPM(t)
	ctx := context.Background()
	p := newPlugin(t, f, nil)
	blue := route("www", "10.0.0.2:8080")
	must(t, p.Upsert(ctx, blue))
	f.offline = func(h map[string]any) bool { return h["forward_host"] == "tf-broken" }

	err := p.Upsert(ctx, route("www", "tf-broken:8080"))
	if err == nil || !strings.Contains(err.Error(), "npm: upsert route tf-web-www (www.example.com): nginx rejected the config of host 1, now offline") ||
		!strings.Contains(err.Error(), "host not found in upstream") {
		t.Fatalf("upsert of an upstream nginx rejects = %v", err)
	}
	must(t, p.Upsert(ctx, blue))
	if m := f.host(1)["meta"].(map[string]any); m["nginx_online"] != true {
		t.Fatalf("after restoring the previous upstream: meta = %v", m)
	}
	must(t, verify(t, p, blue))
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	f := newFakeNPM(t)
	f.lifetime = time.Hour
	ctx := context.Background()
	p := newPlugin(t, f, nil)
	r := route("www", "10.0.0.2:8080")
	must(t, p.Upsert(ctx, r))
	if f.logins != 1 || f.renewals != 0 {
		t.Fatalf("logins %d renewals %d, want 1 and 0", f.logins, f.renewals)
	}
	f.advance(30 * time.Minute) // half the life left: the token is kept
	must(t, verify(t, p, r))
	if f.logins != 1 || f.renewals != 0 {
		t.Fatalf("at 30 min: logins %d renewals %d, want 1 and 0", f.logins, f.renewals)
	}
	f.advance(20 * time.Minute) // a sixth left: renewed with GET /api/tokens
	must(t, verify(t, p, r))
	if f.logins != 1 || f.renewals != 1 {
		t.Fatalf("at 50 min: logins %d renewals %d, want 1 and 1", f.logins, f.renewals)
	}
	f.advance(3 * time.Hour) // expired: a new login
	must(t, verify(t, p, r))
	if f.logins != 2 {
		t.Fatalf("after expiry: logins %d, want 2", f.logins)
	}
	f.revokeAll() // NPM restarted: 401, one new login, the call succeeds
	must(t, verify(t, p, r))
	if f.logins != 3 {
		t.Fatalf("after revocation: logins %d, want 3", f.logins)
	}

	bad := newPlugin(t, f, func(o *npm.Options) { o.Secret = "wrong" })
	if err := bad.Upsert(ctx, r); err == nil || !strings.Contains(err.Error(), "login as admin@example.com: 401 Invalid email or password") {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestNPMValidationReachesTheCaller(t *testing.T) {
	f := newFakeNPM(t)
	ctx := context.Background()
	p := newPlugin(t, f, nil)
	bad := route("www", "10.0.0.2:8080")
	bad.Host = "www example.com"
	err := p.Upsert(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "400 data/domain_names must match pattern") {
		t.Errorf("bad domain: %v", err)
	}
	if err := p.Upsert(ctx, route("www", "10.0.0.2")); err == nil || !strings.Contains(err.Error(), "invalid upstream") {
		t.Errorf("bad upstream: %v", err)
	}
	acl := route("www", "10.0.0.2:80")
	acl.AccessList = "office"
	if err := p.Upsert(ctx, acl); err == nil || !strings.Contains(err.Error(), `access list "office" is not an NPM access list id`) {
		t.Errorf("bad access list: %v", err)
	}
	// The fake enforces NPM's domain uniqueness like NPM does.
	handMade(t, f, `{"domain_names":["dup.example.com"],"forward_scheme":"http","forward_host":"a","forward_port":80}`)
	tok := token(t, f)
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/api/nginx/proxy-hosts",
		strings.NewReader(`{"domain_names":["dup.example.com"],"forward_scheme":"http","forward_host":"b","forward_port":80}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var e struct{ Error struct{ Message string } }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 400 || e.Error.Message != "dup.example.com is already in use" {
		t.Errorf("duplicate domain: %s %q", resp.Status, e.Error.Message)
	}
}
