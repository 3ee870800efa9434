package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/redisstore"
)

// acceptingStore is the store the fuzz target needs: every delivery is
// stored as new, every record written nowhere. The inbox is never read.
type acceptingStore struct{ Store }

func (acceptingStore) Accept(_ context.Context, _ time.Duration, intakes []redisstore.Intake, _ []deployer.Event) ([]bool, error) {
	fresh := make([]bool, len(intakes))
	for i := range fresh {
		fresh[i] = true
	}
	return fresh, nil
}
func (acceptingStore) AppendGlobalEvent(context.Context, deployer.Event) error   { return nil }
func (acceptingStore) AppendEvent(context.Context, string, deployer.Event) error { return nil }

// fuzzRoutes are the intake's routes, by a byte of the fuzz input.
var fuzzRoutes = []string{
	"/v1/hooks/distribution", "/v1/hooks/github", "/v1/hooks/gitea", "/v1/hooks/harbor",
	"/v1/hooks/dockerhub", "/v1/hooks/dockerhub/" + testSecret, "/v1/hooks/quay?token=" + testSecret,
	"/v1/hooks/quay/wrong", "/v1/deploy",
}

// FuzzRoutes posts arbitrary bodies and headers to every intake route end
// to end (authentication, body limits, parsing, matching, the reply):
// whatever comes in, the answer is a 2xx, 4xx or 5xx with a JSON body and
// nothing panics. With sign set, the request carries valid credentials
// for its route (bearer, HMAC of the body, URL token), so the fuzzer gets
// past authentication into the parsers.
func FuzzRoutes(f *testing.F) {
	for i, name := range []string{"distribution-v3-manifest-push.json", "github-package-published.json", "gitea-package-created.json",
		"harbor-push-artifact.json", "dockerhub-push.json", "dockerhub-push.json", "quay-push-list.json", "quay-push-map.json"} {
		f.Add(uint8(i), true, "application/json", "package", sample(f, name))
	}
	f.Add(uint8(0), true, "application/vnd.docker.distribution.events.v1+json", "", []byte(`{"events":[{"action":"push","target":{"tag":"../../etc\nX","repository":"demo","mediaType":"application/vnd.oci.image.manifest.v1+json"}}]}`))
	f.Add(uint8(2), true, "application/x-www-form-urlencoded", "package", []byte("payload=%7B%7D"))
	f.Add(uint8(8), true, "application/json", "", []byte(`{"workload":"demo","tag":"v1"}`))
	f.Add(uint8(8), false, "", "", []byte(`{"image":"127.0.0.1:5000/demo","tag":"v1"}`))
	f.Add(uint8(3), false, "application/cloudevents+json", "", []byte(`{"specversion":"1.0"}`))

	in := New(Config{WebhookToken: testSecret, APIToken: testAPIToken, Hooks: HookConfig{DedupTTL: time.Hour}},
		acceptingStore{}, declared{"demo": demo()}, func(...deployer.Request) error { return nil }, zerolog.Nop())
	in.ready.Store(true)
	r := mux.NewRouter()
	in.Mount(r)

	f.Fuzz(func(t *testing.T, route uint8, sign bool, contentType, event string, body []byte) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		for _, h := range []string{"X-GitHub-Event", "X-Gitea-Event", "X-Forgejo-Event"} {
			req.Header.Set(h, event)
		}
		req.Header.Set("X-GitHub-Delivery", event)
		if sign {
			token := testSecret
			if path == "/v1/deploy" {
				token = testAPIToken
			}
			req.Header.Set("Authorization", "Bearer "+token)
			mac := signHex(sha256.New, testSecret, body)
			req.Header.Set("X-Hub-Signature-256", "sha256="+mac)
			if payload, err := jsonPayloadOf(contentType, body); err == nil {
				req.Header.Set("X-Gitea-Signature", signHex(sha256.New, testSecret, payload))
			}
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code < 200 || w.Code > 599 || (w.Code >= 300 && w.Code < 400) {
			t.Fatalf("%s: status %d", path, w.Code)
		}
		if raw, _ := io.ReadAll(w.Body); !json.Valid(raw) {
			t.Fatalf("%s: %d with a body that is not JSON: %q", path, w.Code, raw)
		}
	})
}

// jsonPayloadOf is what Gitea signs: the "payload" field of a form body,
// else the body.
func jsonPayloadOf(contentType string, body []byte) ([]byte, error) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	return []byte(form.Get("payload")), nil
}
