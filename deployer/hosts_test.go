package deployer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

// memHosts is an in-memory HostClaims.
type memHosts struct {
	mu     sync.Mutex
	owners map[string]string
}

func (h *memHosts) ClaimHosts(_ context.Context, w string, hosts []string) (map[string]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.owners == nil {
		h.owners = map[string]string{}
	}
	out := map[string]string{}
	for _, host := range hosts {
		if h.owners[host] == "" {
			h.owners[host] = w
		}
		out[host] = h.owners[host]
	}
	return out, nil
}

func (h *memHosts) ReleaseHosts(_ context.Context, w string, keep []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for host, owner := range h.owners {
		if owner == w && !slices.Contains(keep, host) {
			delete(h.owners, host)
		}
	}
	return nil
}

func (h *memHosts) HostOwners(context.Context) (map[string]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]string{}
	for k, v := range h.owners {
		out[k] = v
	}
	return out, nil
}

// hostFixture has two workloads: web (faces www, api) and evil, whose face
// "steal" asks for web's host www.example.com and face "own" for its own.
func hostFixture(t *testing.T) (*fixture, *labels.Workload, *memHosts) {
	f := signedFixture(t)
	hosts := &memHosts{}
	f.engine.Hosts = hosts
	f.engine.ReservedHosts = map[string]string{"hooks.example.com": "reserved: the sidecar's hooks host"}
	evil := &labels.Workload{Name: "evil", Image: "reg.local/evil", Port: 8080, Faces: map[string]*labels.Face{
		"steal": {Subdomain: "www"}, "own": {Subdomain: "evil"}, "hooks": {Subdomain: "hooks"},
	}}
	return f, evil, hosts
}

func (f *fixture) upstreamOf(host string) string {
	f.proxy.mu.Lock()
	defer f.proxy.mu.Unlock()
	for _, r := range f.proxy.routes {
		if r.Host == host {
			return r.Workload + "@" + r.Upstream
		}
	}
	return ""
}

func TestLaterClaimOfAHostIsRefusedForThatFaceOnly(t *testing.T) {
	f, evil, hosts := hostFixture(t)
	v1 := f.mustDeploy(t, "v1")
	owner := f.upstreamOf("www.example.com")
	upserts := f.proxy.upserts

	res, err := f.engine.Deploy(context.Background(), evil, Request{Workload: "evil", Tag: "v1"})
	if err != nil {
		t.Fatalf("evil's deploy failed: %v; want it deployed with its own face only", err)
	}
	if got := f.upstreamOf("www.example.com"); got != owner {
		t.Fatalf("www.example.com now %s, want the owner's %s untouched", got, owner)
	}
	if f.upstreamOf("evil.example.com") == "" {
		t.Fatal("evil's own face was refused too")
	}
	if f.upstreamOf("hooks.example.com") != "" {
		t.Fatal("the reserved hooks host was routed")
	}
	if n := f.proxy.upserts - upserts; n != 1 {
		t.Fatalf("%d proxy writes for evil, want 1 (its own face)", n)
	}
	if got := f.docker.containers[res.Container].Labels[labels.ManagedHosts]; got != "evil.example.com" {
		t.Fatalf("evil's container was granted %q, want evil.example.com only", got)
	}
	conflicts := f.engine.HostConflicts()["evil"]
	if len(conflicts) != 2 || conflicts[1].Face != "steal" || conflicts[1].Owner != "workload web" || conflicts[0].Face != "hooks" {
		t.Fatalf("conflicts = %+v, want hooks (reserved) and steal (owned by web)", conflicts)
	}

	// The owner tears down: the host is free, and evil's next deploy gets it.
	if _, err := f.engine.Teardown(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	if hosts.owners["www.example.com"] != "" {
		t.Fatalf("teardown kept the claim: %v", hosts.owners)
	}
	if _, err := f.engine.Deploy(context.Background(), evil, Request{Workload: "evil", Tag: "v2"}); err != nil {
		t.Fatal(err)
	}
	if got := f.upstreamOf("www.example.com"); got == "" || got[:5] != "evil@" {
		t.Fatalf("www.example.com = %q after the owner left, want evil's", got)
	}
	_ = v1
}

func TestDroppedFaceReleasesItsHost(t *testing.T) {
	f, _, hosts := hostFixture(t)
	f.mustDeploy(t, "v1")
	delete(f.w.Faces, "api")
	f.mustDeploy(t, "v1") // a converge: the face is gone
	if owner := hosts.owners["api.example.com"]; owner != "" {
		t.Fatalf("api.example.com still claimed by %s after web dropped the face", owner)
	}
	if hosts.owners["www.example.com"] != "web" {
		t.Fatalf("claims = %v", hosts.owners)
	}
}

// TestClaimsRebuiltFromSignedContainersAfterAFlush: with the store and the
// claims lost, the host goes back to the workload granted it (from its
// container's signed labels), though evil's routes are rebuilt first.
func TestClaimsRebuiltFromSignedContainersAfterAFlush(t *testing.T) {
	f, evil, hosts := hostFixture(t)
	f.mustDeploy(t, "v1")
	if _, err := f.engine.Deploy(context.Background(), evil, Request{Workload: "evil", Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
	owner := f.upstreamOf("www.example.com")
	f.store.wipe()
	hosts.mu.Lock()
	clear(hosts.owners)
	hosts.mu.Unlock()
	f.proxy.mu.Lock()
	clear(f.proxy.routes)
	f.proxy.mu.Unlock()

	if _, err := f.engine.Sync(context.Background(), map[string]*labels.Workload{"web": f.w, "evil": evil}); err != nil {
		t.Fatal(err)
	}
	if got := f.upstreamOf("www.example.com"); got != owner {
		t.Fatalf("www.example.com = %q after the flush, want the owner's %q", got, owner)
	}
	if hosts.owners["www.example.com"] != "web" || hosts.owners["evil.example.com"] != "evil" {
		t.Fatalf("claims = %v", hosts.owners)
	}
}

// TestFailedDeployReleasesItsHostClaims: a first deploy that fails before
// its routes go live (a typo'd image: the pull fails) keeps no host, so
// the workload that means the host gets it; a failed deploy of a serving
// workload keeps the hosts it serves and gives back only the new face's.
func TestFailedDeployReleasesItsHostClaims(t *testing.T) {
	f, evil, hosts := hostFixture(t)
	f.docker.pullErr = errors.New("manifest unknown")
	if _, err := f.engine.Deploy(context.Background(), evil, Request{Workload: "evil", Tag: "v1"}); err == nil {
		t.Fatal("evil's deploy succeeded, want the pull to fail")
	}
	if owners, _ := hosts.HostOwners(context.Background()); len(owners) != 0 {
		t.Fatalf("claims after a failed first deploy = %v, want none", owners)
	}
	f.docker.pullErr = nil
	f.mustDeploy(t, "v1")
	if got := f.upstreamOf("www.example.com"); got == "" || got[:4] != "web@" {
		t.Fatalf("www.example.com = %q, want web's", got)
	}

	// web serves www and api; a deploy adding face "extra" fails its
	// health check: www and api stay claimed, extra.example.com is free.
	f.w.Faces["extra"] = &labels.Face{Subdomain: "extra"}
	f.health = func(context.Context, string) error { return ErrUnhealthy }
	if _, err := f.deploy(t, "v2"); err == nil {
		t.Fatal("web's v2 deploy succeeded, want it unhealthy")
	}
	owners, _ := hosts.HostOwners(context.Background())
	if owners["www.example.com"] != "web" || owners["api.example.com"] != "web" || owners["extra.example.com"] != "" {
		t.Fatalf("claims after a failed deploy of a serving workload = %v, want www and api kept, extra released", owners)
	}
}

// TestReservedHostInAnyCase: --hooks-host spelled in capitals is still
// reserved against a face asking for it in lower case, and the host table
// lists it as claims are keyed.
func TestReservedHostInAnyCase(t *testing.T) {
	f, evil, hosts := hostFixture(t)
	f.engine.ReservedHosts = map[string]string{"Hooks.Example.COM.": "reserved: the sidecar's --hooks-host"}
	if _, err := f.engine.Deploy(context.Background(), evil, Request{Workload: "evil", Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
	if f.upstreamOf("hooks.example.com") != "" || hosts.owners["hooks.example.com"] != "" {
		t.Fatal("the reserved hooks host, spelled in capitals, was claimed and routed")
	}
	table, err := f.engine.HostTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if table.Reserved["hooks.example.com"] == "" || table.Owners["www.example.com"] != "evil" || table.Owners["evil.example.com"] != "evil" {
		t.Fatalf("host table = %+v", table)
	}
}
