package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"testing"
)

func hash16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// The fuzz targets check that no input panics a parser and that whatever
// it returns keeps checkPushes' invariant.

func FuzzParseGitHub(f *testing.F) {
	f.Add("package", "application/json", readSample(f, "github-package-published.json"))
	f.Add("registry_package", "application/json", readSample(f, "github-registry-package-untagged.json"))
	f.Add("package", "application/x-www-form-urlencoded", []byte("payload=%7B%7D"))
	f.Add("ping", "", []byte(`{}`))
	f.Add("package", "", []byte(`{"action":"published","package":{"package_type":"container","package_version":{"package_url":":/@","container_metadata":{"tag":{"name":"v1"}}}}}`))
	f.Fuzz(func(t *testing.T, event, contentType string, body []byte) {
		pushes, err := ParseGitHub(event, contentType, body)
		checkPushes(t, pushes, err)
	})
}

func FuzzParseGitea(f *testing.F) {
	f.Add("package", "application/json", readSample(f, "gitea-package-created.json"))
	f.Add("package", "application/json", readSample(f, "gitea-package-digest-version.json"))
	f.Add("package", "application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(readSample(f, "gitea-package-created.json")))))
	f.Add("package", "", []byte(`{"action":"created","package":{"type":"container","name":"a","version":"v","html_url":"//h","owner":{"login":"o"}}}`))
	f.Fuzz(func(t *testing.T, event, contentType string, body []byte) {
		pushes, err := ParseGitea(event, contentType, body)
		checkPushes(t, pushes, err)
	})
}

func FuzzParseHarbor(f *testing.F) {
	f.Add("application/json", readSample(f, "harbor-push-artifact.json"))
	f.Add(CloudEventsJSON, readSample(f, "harbor-push-artifact-cloudevents.json"))
	f.Add("application/json", readSample(f, "harbor-pull-artifact.json"))
	f.Add("application/x-www-form-urlencoded", []byte("payload=%7B%7D"))
	f.Add("", []byte(`{"specversion":null,"type":"PUSH_ARTIFACT","event_data":{"resources":[{"tag":"v1","resource_url":"/"}],"repository":{"repo_full_name":"a"}}}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		pushes, err := ParseHarbor(contentType, body)
		checkPushes(t, pushes, err)
	})
}

func FuzzParseDockerHub(f *testing.F) {
	f.Add(readSample(f, "dockerhub-push.json"))
	f.Add([]byte(`{"push_data":{"pushed_at":1e300,"tag":"v"},"repository":{"repo_name":"a"}}`))
	f.Add([]byte(`{"push_data":{"pushed_at":-1,"tag":"sha256:x"},"repository":{"repo_name":"a"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		pushes, err := ParseDockerHub(body)
		checkPushes(t, pushes, err)
	})
}

func FuzzParseQuay(f *testing.F) {
	f.Add(readSample(f, "quay-push-list.json"))
	f.Add(readSample(f, "quay-push-map.json"))
	f.Add([]byte(`{"docker_url":"a/b","updated_tags":{"":1,"sha256:a":2}}`))
	f.Add([]byte(`{"docker_url":"a/b:c@d","updated_tags":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		pushes, err := ParseQuay(body)
		checkPushes(t, pushes, err)
	})
}
