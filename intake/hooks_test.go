package intake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// sourceWorkloads use the images of the payload samples.
func sourceWorkloads() []*labels.Workload {
	return []*labels.Workload{
		{Name: "demo", Image: "127.0.0.1:5000/demo"},
		{Name: "hello", Image: "ghcr.io/octo-org/hello-web"},
		{Name: "web", Image: "git.example.com/team/web"},
		{Name: "shop", Image: "harbor.example.com/shop/frontend"},
		{Name: "api", Image: "docker.io/acme/api"},
		{Name: "worker", Image: "quay.io/acme/worker"},
	}
}

type hookCase struct {
	name    string
	path    string
	body    []byte
	headers map[string]string
	status  int
	// accepted lists workload:tag on a 202; ignored is a prefix of the
	// first ignored reason.
	accepted []string
	ignored  string
	errText  string // substring of an error reply
}

// TestHookSources sends every source its real-shaped payload with good
// and bad credentials, oversized, malformed and ignorable bodies.
func TestHookSources(t *testing.T) {
	f := newHookFixture(t, sourceWorkloads()...)
	big := []byte(`{"events":[` + strings.Repeat(" ", 1<<20) + `]}`)

	gh := sample(t, "github-package-published.json")
	ghHeaders := func(sig, event string) map[string]string {
		return map[string]string{"Content-Type": "application/json", "X-GitHub-Event": event,
			"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "X-Hub-Signature-256": sig}
	}
	gitea := sample(t, "gitea-package-created.json")
	giteaHeaders := func(family, sig string) map[string]string {
		return map[string]string{"Content-Type": "application/json", family + "Event": "package",
			family + "Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473", family + "Signature": sig}
	}
	harbor := sample(t, "harbor-push-artifact.json")
	harborCE := sample(t, "harbor-push-artifact-cloudevents.json")
	dist := sample(t, "distribution-v3-manifest-push.json")
	distHeaders := func(auth string) map[string]string {
		return map[string]string{"Content-Type": "application/vnd.docker.distribution.events.v2+json", "Authorization": auth}
	}
	json := map[string]string{"Content-Type": "application/json"}

	cases := []hookCase{
		// distribution
		{name: "distribution", path: "/v1/hooks/distribution", body: dist, headers: distHeaders("Bearer " + testSecret), status: 202, accepted: []string{"demo:v1"}},
		{name: "distribution blob push", path: "/v1/hooks/distribution", body: sample(t, "distribution-v3-blob-push.json"), headers: distHeaders("Bearer " + testSecret), status: 202, ignored: "no tagged manifest push"},
		{name: "distribution wrong token", path: "/v1/hooks/distribution", body: dist, headers: distHeaders("Bearer nope"), status: 401},
		{name: "distribution no token", path: "/v1/hooks/distribution", body: dist, headers: distHeaders(""), status: 401},
		{name: "distribution oversized", path: "/v1/hooks/distribution", body: big, headers: distHeaders("Bearer " + testSecret), status: 413},
		{name: "distribution truncated", path: "/v1/hooks/distribution", body: dist[:40], headers: distHeaders("Bearer " + testSecret), status: 400, errText: "unexpected end of JSON input"},
		{name: "distribution wrong type", path: "/v1/hooks/distribution", body: dist, headers: map[string]string{"Content-Type": "text/plain", "Authorization": "Bearer " + testSecret}, status: 415},
		// github
		{name: "github", path: "/v1/hooks/github", body: gh, headers: ghHeaders("sha256="+sign(gh), "package"), status: 202, accepted: []string{"hello:v1.4.2"}},
		{name: "github bad signature", path: "/v1/hooks/github", body: gh, headers: ghHeaders("sha256="+sign([]byte("other")), "package"), status: 401},
		{name: "github unsigned", path: "/v1/hooks/github", body: gh, headers: ghHeaders("", "package"), status: 401},
		{name: "github ping", path: "/v1/hooks/github", body: []byte(`{"zen":"Design for failure."}`), headers: ghHeaders("sha256="+sign([]byte(`{"zen":"Design for failure."}`)), "ping"), status: 202, ignored: "ignored: ping"},
		{name: "github untagged", path: "/v1/hooks/github", body: sample(t, "github-registry-package-untagged.json"), headers: ghHeaders("sha256="+sign(sample(t, "github-registry-package-untagged.json")), "registry_package"), status: 202, ignored: "ignored: untagged version"},
		{name: "github oversized", path: "/v1/hooks/github", body: big, headers: ghHeaders("sha256="+sign(big), "package"), status: 413},
		{name: "github malformed", path: "/v1/hooks/github", body: []byte(`{"action":`), headers: ghHeaders("sha256="+sign([]byte(`{"action":`)), "package"), status: 400},
		// gitea and forgejo
		{name: "gitea", path: "/v1/hooks/gitea", body: gitea, headers: giteaHeaders("X-Gitea-", sign(gitea)), status: 202, accepted: []string{"web:v2.0.1"}},
		{name: "forgejo", path: "/v1/hooks/gitea", body: gitea, headers: giteaHeaders("X-Forgejo-", sign(gitea)), status: 202, accepted: []string{"web:v2.0.1"}},
		{name: "gitea digest-only version", path: "/v1/hooks/gitea", body: sample(t, "gitea-package-digest-version.json"), headers: giteaHeaders("X-Gitea-", sign(sample(t, "gitea-package-digest-version.json"))), status: 202, ignored: "ignored: digest-only version"},
		{name: "gitea bad signature", path: "/v1/hooks/gitea", body: gitea, headers: giteaHeaders("X-Gitea-", sign(dist)), status: 401},
		{name: "gitea sha256= prefix is fine", path: "/v1/hooks/gitea", body: gitea, headers: giteaHeaders("X-Gitea-", "sha256="+sign(gitea)), status: 202, accepted: []string{"web:v2.0.1"}},
		// harbor
		{name: "harbor", path: "/v1/hooks/harbor", body: harbor, headers: map[string]string{"Content-Type": "application/json", "Authorization": testSecret}, status: 202, accepted: []string{"shop:2025.06.11"}},
		{name: "harbor cloudevents", path: "/v1/hooks/harbor", body: harborCE, headers: map[string]string{"Content-Type": "application/cloudevents+json", "Authorization": "Bearer " + testSecret}, status: 202, accepted: []string{"shop:2025.06.11"}},
		{name: "harbor pull", path: "/v1/hooks/harbor", body: sample(t, "harbor-pull-artifact.json"), headers: map[string]string{"Authorization": testSecret}, status: 202, ignored: `ignored: harbor event type "PULL_ARTIFACT"`},
		{name: "harbor wrong auth", path: "/v1/hooks/harbor", body: harbor, headers: map[string]string{"Authorization": "Basic " + testSecret}, status: 401},
		{name: "harbor oversized", path: "/v1/hooks/harbor", body: big, headers: map[string]string{"Authorization": testSecret}, status: 413},
		// docker hub and quay
		{name: "dockerhub token in path", path: "/v1/hooks/dockerhub/" + testSecret, body: sample(t, "dockerhub-push.json"), headers: json, status: 202, accepted: []string{"api:1.9.0"}},
		{name: "dockerhub token in query", path: "/v1/hooks/dockerhub?token=" + testSecret, body: sample(t, "dockerhub-push.json"), headers: json, status: 202, accepted: []string{"api:1.9.0"}},
		{name: "dockerhub wrong token", path: "/v1/hooks/dockerhub/" + testSecret + "x", body: sample(t, "dockerhub-push.json"), headers: json, status: 401},
		{name: "dockerhub no token", path: "/v1/hooks/dockerhub", body: sample(t, "dockerhub-push.json"), headers: json, status: 401},
		{name: "dockerhub malformed", path: "/v1/hooks/dockerhub/" + testSecret, body: []byte("{"), headers: json, status: 400},
		{name: "quay list", path: "/v1/hooks/quay/" + testSecret, body: sample(t, "quay-push-list.json"), headers: json, status: 202, accepted: []string{"worker:v3.1.0", "worker:latest"}},
		{name: "quay map", path: "/v1/hooks/quay?token=" + testSecret, body: sample(t, "quay-push-map.json"), headers: json, status: 202, accepted: []string{"worker:latest", "worker:v3.1.0"}},
		{name: "quay wrong token", path: "/v1/hooks/quay?token=nope", body: sample(t, "quay-push-list.json"), headers: json, status: 401},
		{name: "quay oversized", path: "/v1/hooks/quay/" + testSecret, body: big, headers: json, status: 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, reply, raw := f.post(tc.path, tc.body, tc.headers)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, raw)
			}
			if tc.accepted != nil && !reflect.DeepEqual(append(reply.Accepted, reply.Duplicate...), tc.accepted) {
				t.Errorf("accepted %v (duplicate %v), want %v", reply.Accepted, reply.Duplicate, tc.accepted)
			}
			if tc.ignored != "" && (len(reply.Ignored) == 0 || !strings.HasPrefix(reply.Ignored[0], tc.ignored)) {
				t.Errorf("ignored %v, want %q...", reply.Ignored, tc.ignored)
			}
			if tc.errText != "" && !strings.Contains(raw, tc.errText) {
				t.Errorf("reply %s lacks %q", raw, tc.errText)
			}
			if status >= 400 && !strings.Contains(raw, `"error"`) {
				t.Errorf("error reply without an error message: %s", raw)
			}
		})
	}
	// No token ever reaches a log line.
	if strings.Contains(f.logs.String(), testSecret) {
		t.Errorf("a secret appears in the logs")
	}
	// Rejections and ignored deliveries are in the global stream, with reasons.
	var rejected, ignored int
	for _, ev := range f.global() {
		switch outcomeWord(ev.Outcome) {
		case OutcomeRejected:
			rejected++
		case OutcomeIgnored:
			ignored++
		}
		if ev.Source == "" {
			t.Errorf("global event without source: %+v", ev)
		}
	}
	if rejected < 10 || ignored < 5 {
		t.Errorf("global stream has %d rejected and %d ignored records", rejected, ignored)
	}
}

func TestHookSourceDisabled(t *testing.T) {
	f := newHookFixture(t, sourceWorkloads()...)
	f.in.cfg.WebhookToken = ""
	f.in.cfg.Hooks.QuayToken = "only-quay"
	for _, path := range []string{"/v1/hooks/distribution", "/v1/hooks/github", "/v1/hooks/gitea", "/v1/hooks/harbor", "/v1/hooks/dockerhub/x"} {
		if status, _, raw := f.post(path, []byte(`{}`), nil); status != http.StatusForbidden || !strings.Contains(raw, "disabled") {
			t.Errorf("%s with no secret: %d %s, want 403 disabled", path, status, raw)
		}
	}
	status, reply, raw := f.post("/v1/hooks/quay/only-quay", sample(t, "quay-push-list.json"), nil)
	if status != http.StatusAccepted || len(reply.Accepted) != 2 {
		t.Errorf("quay with its own token: %d %s", status, raw)
	}
}
