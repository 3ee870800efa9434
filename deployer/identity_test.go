package deployer

import (
	"context"
	"maps"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/labelsig"
)

// signedFixture is a fixture whose engines sign and verify the identity
// of managed containers.
func signedFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.engine.Identity = labelsig.NewMAC([]byte("identity-key-of-the-test-sidecar"))
	return f
}

// impostor starts a container someone else made: managed labels copied
// from the real one (workload, image, digest, even the signature), a
// newer creation time, running.
func (f *fixture) impostor(real Container, drop ...string) string {
	f.docker.mu.Lock()
	defer f.docker.mu.Unlock()
	f.docker.seq++
	lbls := maps.Clone(real.Labels)
	for _, k := range drop {
		delete(lbls, k)
	}
	id := "evil"
	f.docker.containers[id] = &Container{
		ID: id, Name: "evil-twin", Image: real.Image, Labels: lbls, State: "running", Running: true,
		Created: real.Created.Add(3600e9), IPs: map[string]string{"net": "10.6.6.6"},
	}
	return id
}

// TestImpostorIsNeverRouted: a container labelled tinyforge.managed=true
// for the workload, made by hand, is not adopted nor routed, neither when
// routes are rebuilt after the store lost everything nor when the real
// container is gone; it is reported as unverified.
func TestImpostorIsNeverRouted(t *testing.T) {
	for name, drop := range map[string][]string{
		"unsigned":               {labels.ManagedSignature},
		"signature of another":   nil, // copied with a name of its own
		"signature and no hosts": {labels.ManagedHosts},
	} {
		t.Run(name, func(t *testing.T) {
			f := signedFixture(t)
			v1 := f.mustDeploy(t, "v1")
			real := *f.docker.containers[v1.Container]
			if real.Labels[labels.ManagedSignature] == "" {
				t.Fatal("the deployer's container carries no signature")
			}
			f.impostor(real, drop...)

			f.store.wipe() // Redis flushed
			f.sync(t)
			for host, up := range f.upstreams() {
				if up == "10.6.6.6:8080" || up == "10.6.6.6:9090" {
					t.Fatalf("route %s rebuilt on the impostor", host)
				}
			}
			if _, adopted := f.store.instances["evil"]; adopted {
				t.Fatal("impostor adopted")
			}
			if cs, _ := f.engine.Containers(context.Background(), "web"); len(cs) != 1 || cs[0].ID != v1.Container {
				t.Fatalf("Containers = %v, want the real one only", cs)
			}

			// The real container goes: still nothing routes to the impostor.
			f.docker.mu.Lock()
			delete(f.docker.containers, v1.Container)
			f.docker.mu.Unlock()
			f.store.wipe()
			f.proxy.mu.Lock()
			clear(f.proxy.routes)
			f.proxy.mu.Unlock()
			f.sync(t)
			if len(f.proxy.routes) != 0 {
				t.Fatalf("routes after the real container went: %v", f.proxy.routes)
			}
			un := f.engine.Unverified()
			if len(un) != 1 || un[0].ID != "evil" || un[0].Workload != "web" || un[0].Problem == "" {
				t.Fatalf("Unverified = %+v, want the impostor reported", un)
			}
			// A converge (deploy of the running digest) does not take it either.
			res := f.mustDeploy(t, "v1")
			if res.Noop || res.Container == "evil" {
				t.Fatalf("deploy after the loss = %+v, want a new container, not the impostor", res)
			}
			if _, still := f.docker.containers["evil"]; !still {
				t.Fatal("the impostor was removed: unverified containers are left alone")
			}
		})
	}
}

// TestSignatureCoversIdentity: changing any identity label (or the name)
// of a signed container breaks its signature.
func TestSignatureCoversIdentity(t *testing.T) {
	f := signedFixture(t)
	v1 := f.mustDeploy(t, "v1")
	real := *f.docker.containers[v1.Container]
	if !f.engine.authentic(real) {
		t.Fatal("own container does not verify")
	}
	for _, k := range identityLabels {
		c := real
		c.Labels = maps.Clone(real.Labels)
		c.Labels[k] += "x"
		if f.engine.authentic(c) {
			t.Errorf("label %s changed, signature still verifies", k)
		}
	}
	renamed := real
	renamed.Name += "-copy"
	if f.engine.authentic(renamed) {
		t.Error("signature verifies on a container of another name")
	}
}
