package intake

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

// This file sends every content type each supported registry can send,
// built and signed exactly as that registry builds and signs it, through
// the real HTTP handlers: a mismatch between how a registry signs and how
// the sidecar checks shows up here, not in production.

// registryDelivery is one request as a registry sends it.
type registryDelivery struct {
	path    string
	body    []byte
	headers map[string]string
}

// signHex is the hex HMAC of msg keyed with secret.
func signHex(h func() hash.Hash, secret string, msg []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// formEncode is how GitHub, Gitea and Forgejo send a form delivery: the
// JSON payload url-encoded in a "payload" field.
func formEncode(payload []byte) []byte {
	return []byte(url.Values{"payload": {string(payload)}}.Encode())
}

// githubDelivery is a GitHub package delivery. GitHub signs the bytes it
// sends, whatever the content type: X-Hub-Signature-256 is the HMAC of
// the raw body, form-encoded or not.
func githubDelivery(payload []byte, form bool, secret, id string) registryDelivery {
	body, contentType := payload, "application/json"
	if form {
		body, contentType = formEncode(payload), "application/x-www-form-urlencoded"
	}
	return registryDelivery{path: "/v1/hooks/github", body: body, headers: map[string]string{
		"Content-Type":        contentType,
		"X-GitHub-Event":      "package",
		"X-GitHub-Delivery":   id,
		"X-GitHub-Hook-ID":    "4242",
		"X-Hub-Signature":     "sha1=" + signHex(sha1.New, secret, body),
		"X-Hub-Signature-256": "sha256=" + signHex(sha256.New, secret, body),
	}}
}

// giteaDelivery is a Gitea (or, with forgejo, Forgejo) package delivery
// with the headers of services/webhook (AddDefaultHeaders): both sign the
// JSON payload, before a form delivery url-encodes it into the body.
// Forgejo sends its own X-Forgejo-* headers besides the Gitea ones.
func giteaDelivery(payload []byte, form, forgejo bool, secret, id string) registryDelivery {
	body, contentType := payload, "application/json"
	if form {
		body, contentType = formEncode(payload), "application/x-www-form-urlencoded"
	}
	sig := signHex(sha256.New, secret, payload)
	h := map[string]string{
		"Content-Type":        contentType,
		"X-Gitea-Delivery":    id,
		"X-Gitea-Event":       "package",
		"X-Gitea-Event-Type":  "package",
		"X-Gitea-Signature":   sig,
		"X-Gogs-Delivery":     id,
		"X-Gogs-Event":        "package",
		"X-Gogs-Signature":    sig,
		"X-Hub-Signature":     "sha1=" + signHex(sha1.New, secret, payload),
		"X-Hub-Signature-256": "sha256=" + sig,
		"X-GitHub-Delivery":   id,
		"X-GitHub-Event":      "package",
	}
	if forgejo {
		h["X-Forgejo-Delivery"], h["X-Forgejo-Event"], h["X-Forgejo-Event-Type"], h["X-Forgejo-Signature"] = id, "package", "package", sig
	}
	return registryDelivery{path: "/v1/hooks/gitea", body: body, headers: h}
}

// distributionDelivery is a CNCF distribution notification: the endpoint's
// configured headers (a bearer token) and the version's content type.
func distributionDelivery(body []byte, contentType, token string) registryDelivery {
	return registryDelivery{path: "/v1/hooks/distribution", body: body,
		headers: map[string]string{"Content-Type": contentType, "Authorization": "Bearer " + token}}
}

// harborDelivery is a Harbor webhook: its configured auth header, verbatim.
func harborDelivery(body []byte, contentType, auth string) registryDelivery {
	return registryDelivery{path: "/v1/hooks/harbor", body: body,
		headers: map[string]string{"Content-Type": contentType, "Authorization": auth}}
}

// tokenURLDelivery is a Docker Hub or Quay webhook: JSON, the token in the URL.
func tokenURLDelivery(source string, body []byte, token string) registryDelivery {
	return registryDelivery{path: "/v1/hooks/" + source + "/" + token, body: body,
		headers: map[string]string{"Content-Type": "application/json"}}
}

// contentWorkloads use the images of the payload samples, one workload
// per image (the two distribution samples name two registries).
func contentWorkloads() []*labels.Workload {
	return []*labels.Workload{
		{Name: "demo", Image: "127.0.0.1:5000/demo"},
		{Name: "demo2", Image: "127.0.0.1:5001/demo"},
		{Name: "hello", Image: "ghcr.io/octo-org/hello-web"},
		{Name: "web", Image: "git.example.com/team/web"},
		{Name: "shop", Image: "harbor.example.com/shop/frontend"},
		{Name: "api", Image: "docker.io/acme/api"},
		{Name: "worker", Image: "quay.io/acme/worker"},
	}
}

// TestHookContentTypes sends, for every registry and every content type
// it can send, a delivery signed as that registry signs it (202, recorded
// as accepted for the right workload and tag) and the same delivery with
// a wrong signature or credential (401, nothing recorded for the
// workload). For the senders that offer a form encoding, a delivery signed
// the way the other family signs is refused too: GitHub signs the raw
// body, Gitea and Forgejo the JSON payload.
func TestHookContentTypes(t *testing.T) {
	const wrong = "not-the-secret"
	gh := sample(t, "github-package-published.json")
	gitea := sample(t, "gitea-package-created.json")
	harbor := sample(t, "harbor-push-artifact.json")
	harborCE := sample(t, "harbor-push-artifact-cloudevents.json")
	dist2 := sample(t, "distribution-v2.8-manifest-push.json")
	dist3 := sample(t, "distribution-v3-manifest-push.json")
	dockerhub := sample(t, "dockerhub-push.json")
	quay := sample(t, "quay-push-list.json")

	// resigned is d with its signature headers made over msg instead.
	resigned := func(d registryDelivery, msg []byte) registryDelivery {
		h := map[string]string{}
		for k, v := range d.headers {
			h[k] = v
		}
		sig := signHex(sha256.New, testSecret, msg)
		for _, k := range []string{"X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature"} {
			if _, ok := h[k]; ok {
				h[k] = sig
			}
		}
		h["X-Hub-Signature-256"] = "sha256=" + sig
		return registryDelivery{path: d.path, body: d.body, headers: h}
	}

	cases := []struct {
		name     string
		source   string
		good     registryDelivery
		bad      []registryDelivery // each answered 401
		workload string
		accepted []string // workload:tag
	}{
		{name: "distribution 2.x events.v1+json", source: SourceDistribution, workload: "demo2", accepted: []string{"demo2:v1"},
			good: distributionDelivery(dist2, "application/vnd.docker.distribution.events.v1+json", testSecret),
			bad:  []registryDelivery{distributionDelivery(dist2, "application/vnd.docker.distribution.events.v1+json", wrong)}},
		{name: "distribution 3.x events.v2+json", source: SourceDistribution, workload: "demo", accepted: []string{"demo:v1"},
			good: distributionDelivery(dist3, "application/vnd.docker.distribution.events.v2+json", testSecret),
			bad:  []registryDelivery{distributionDelivery(dist3, "application/vnd.docker.distribution.events.v2+json", wrong)}},
		{name: "github json", source: SourceGitHub, workload: "hello", accepted: []string{"hello:v1.4.2"},
			good: githubDelivery(gh, false, testSecret, "0b5c6a10-0001-11f0-9d3a-github-json"),
			bad:  []registryDelivery{githubDelivery(gh, false, wrong, "0b5c6a10-0001-11f0-9d3a-github-json")}},
		{name: "github form", source: SourceGitHub, workload: "hello", accepted: []string{"hello:v1.4.2"},
			good: githubDelivery(gh, true, testSecret, "0b5c6a10-0002-11f0-9d3a-github-form"),
			bad: []registryDelivery{
				githubDelivery(gh, true, wrong, "0b5c6a10-0002-11f0-9d3a-github-form"),
				resigned(githubDelivery(gh, true, testSecret, "0b5c6a10-0002-11f0-9d3a-github-form"), gh), // signed over the decoded payload
			}},
		{name: "gitea json", source: SourceGitea, workload: "web", accepted: []string{"web:v2.0.1"},
			good: giteaDelivery(gitea, false, false, testSecret, "f6266f16-0001-46a5-9ea4-gitea-json"),
			bad:  []registryDelivery{giteaDelivery(gitea, false, false, wrong, "f6266f16-0001-46a5-9ea4-gitea-json")}},
		{name: "gitea form", source: SourceGitea, workload: "web", accepted: []string{"web:v2.0.1"},
			good: giteaDelivery(gitea, true, false, testSecret, "f6266f16-0002-46a5-9ea4-gitea-form"),
			bad: []registryDelivery{
				giteaDelivery(gitea, true, false, wrong, "f6266f16-0002-46a5-9ea4-gitea-form"),
				resigned(giteaDelivery(gitea, true, false, testSecret, "f6266f16-0002-46a5-9ea4-gitea-form"), formEncode(gitea)), // signed over the raw body
			}},
		{name: "forgejo json", source: SourceGitea, workload: "web", accepted: []string{"web:v2.0.1"},
			good: giteaDelivery(gitea, false, true, testSecret, "f6266f16-0003-46a5-9ea4-forgejo-json"),
			bad:  []registryDelivery{giteaDelivery(gitea, false, true, wrong, "f6266f16-0003-46a5-9ea4-forgejo-json")}},
		{name: "forgejo form", source: SourceGitea, workload: "web", accepted: []string{"web:v2.0.1"},
			good: giteaDelivery(gitea, true, true, testSecret, "f6266f16-0004-46a5-9ea4-forgejo-form"),
			bad: []registryDelivery{
				giteaDelivery(gitea, true, true, wrong, "f6266f16-0004-46a5-9ea4-forgejo-form"),
				resigned(giteaDelivery(gitea, true, true, testSecret, "f6266f16-0004-46a5-9ea4-forgejo-form"), formEncode(gitea)),
			}},
		{name: "harbor default json", source: SourceHarbor, workload: "shop", accepted: []string{"shop:2025.06.11"},
			good: harborDelivery(harbor, "application/json", testSecret),
			bad:  []registryDelivery{harborDelivery(harbor, "application/json", wrong)}},
		{name: "harbor cloudevents+json", source: SourceHarbor, workload: "shop", accepted: []string{"shop:2025.06.11"},
			good: harborDelivery(harborCE, "application/cloudevents+json", testSecret),
			bad:  []registryDelivery{harborDelivery(harborCE, "application/cloudevents+json", wrong)}},
		{name: "dockerhub json", source: SourceDockerHub, workload: "api", accepted: []string{"api:1.9.0"},
			good: tokenURLDelivery(SourceDockerHub, dockerhub, testSecret),
			bad:  []registryDelivery{tokenURLDelivery(SourceDockerHub, dockerhub, wrong)}},
		{name: "quay json", source: SourceQuay, workload: "worker", accepted: []string{"worker:v3.1.0", "worker:latest"},
			good: tokenURLDelivery(SourceQuay, quay, testSecret),
			bad:  []registryDelivery{tokenURLDelivery(SourceQuay, quay, wrong)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newHookFixture(t, contentWorkloads()...)
			status, reply, raw := f.post(tc.good.path, tc.good.body, tc.good.headers)
			if status != 202 {
				t.Fatalf("status %d, want 202: %s", status, raw)
			}
			if !reflect.DeepEqual(reply.Accepted, tc.accepted) {
				t.Fatalf("accepted %v (duplicate %v, ignored %v), want %v", reply.Accepted, reply.Duplicate, reply.Ignored, tc.accepted)
			}
			checkAccepted := func() {
				t.Helper()
				h := f.history(tc.workload)
				if len(h) != len(tc.accepted) {
					t.Fatalf("history of %s: %v, want %d accepted records", tc.workload, outcomesOf(h), len(tc.accepted))
				}
				image := contentImage(t, tc.workload)
				for i, ev := range h {
					tag := strings.TrimPrefix(tc.accepted[i], tc.workload+":")
					if ev.Outcome != OutcomeAccepted || ev.Image != image+":"+tag || ev.Source != tc.source {
						t.Errorf("history record %d of %s: %+v, want accepted %s:%s", i, tc.workload, ev, image, tag)
					}
				}
				if n := f.inboxLen(); n != int64(len(tc.accepted)) {
					t.Errorf("inbox holds %d entries, want %d", n, len(tc.accepted))
				}
			}
			checkAccepted()

			for i, d := range tc.bad {
				if status, _, raw := f.post(d.path, d.body, d.headers); status != 401 || !strings.Contains(raw, `"error"`) {
					t.Errorf("bad delivery %d: status %d, want 401: %s", i, status, raw)
				}
			}
			checkAccepted() // the refusals added nothing for the workload
			var rejected int
			for _, ev := range f.global() {
				if strings.HasPrefix(ev.Outcome, OutcomeRejected+": 401") && ev.Source == tc.source {
					rejected++
				}
			}
			if rejected != len(tc.bad) {
				t.Errorf("%d rejected records in the global stream, want %d", rejected, len(tc.bad))
			}
		})
	}
}

func contentImage(t *testing.T, workload string) string {
	t.Helper()
	for _, w := range contentWorkloads() {
		if w.Name == workload {
			return w.Image
		}
	}
	t.Fatalf("no workload %s", workload)
	return ""
}
