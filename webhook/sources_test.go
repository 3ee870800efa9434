package webhook

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/imageref"
)

// checkPushes is the invariant every parser keeps, for the table tests
// and the fuzz targets: an error comes without pushes, and every push is
// a tag (never a digest) of a named repository on a named registry.
func checkPushes(t *testing.T, pushes []Push, err error) {
	t.Helper()
	if err != nil {
		if pushes != nil {
			t.Fatalf("pushes %+v returned with error %v", pushes, err)
		}
		return
	}
	for _, p := range pushes {
		if p.Tag == "" || imageref.LooksLikeDigest(p.Tag) || p.Repository == "" || p.Registry == "" {
			t.Fatalf("not a tagged push of a named repository: %+v", p)
		}
		if !imageref.ValidTag(p.Tag) || (p.Digest != "" && !imageref.ValidDigest(p.Digest)) {
			t.Fatalf("tag or digest outside the grammar: %+v", p)
		}
	}
}

type parseCase struct {
	name    string
	parse   func() ([]Push, error)
	want    []Push
	ignored string // prefix of the ErrIgnored reason
	err     string // prefix of any other error
}

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse()
			checkPushes(t, got, err)
			switch {
			case tc.ignored != "":
				if !errors.Is(err, ErrIgnored) || !strings.HasPrefix(err.Error(), "ignored: "+tc.ignored) {
					t.Fatalf("error %v, want ignored: %s...", err, tc.ignored)
				}
			case tc.err != "":
				if err == nil || errors.Is(err, ErrIgnored) || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("error %v, want %s...", err, tc.err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				for i := range got { // checked apart: TestSignedKey
					got[i].SignedKey = ""
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got  %+v\nwant %+v", got, tc.want)
				}
			}
		})
	}
}

const (
	ghDigest     = "sha256:9d2c55e0a1f6f2c5b0f7e4b8a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4"
	harborDigest = "sha256:3f1e2d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e"
)

func TestParseGitHub(t *testing.T) {
	published := readSample(t, "github-package-published.json")
	untagged := readSample(t, "github-registry-package-untagged.json")
	form := []byte("payload=" + url.QueryEscape(string(published)))
	want := []Push{{Registry: "ghcr.io", Repository: "Octo-Org/hello-web", Tag: "v1.4.2", Digest: ghDigest,
		MediaType: "application/vnd.oci.image.index.v1+json", Time: mustTime("2025-06-11T16:40:07Z")}}
	replace := func(old, new string) []byte { return []byte(strings.Replace(string(published), old, new, 1)) }
	runParseCases(t, []parseCase{
		{name: "package published", want: want,
			parse: func() ([]Push, error) { return ParseGitHub("package", "application/json", published) }},
		{name: "form-encoded body", want: want,
			parse: func() ([]Push, error) { return ParseGitHub("package", "application/x-www-form-urlencoded", form) }},
		{name: "updated action", want: want,
			parse: func() ([]Push, error) {
				return ParseGitHub("package", "application/json", replace(`"action": "published"`, `"action": "updated"`))
			}},
		{name: "no package_url: owner and name on ghcr.io",
			want: []Push{{Registry: "ghcr.io", Repository: "Octo-Org/hello-web", Tag: "v1.4.2", Digest: ghDigest,
				MediaType: "application/vnd.oci.image.index.v1+json", Time: mustTime("2025-06-11T16:40:07Z")}},
			parse: func() ([]Push, error) {
				return ParseGitHub("package", "application/json", replace(`"package_url": "ghcr.io/Octo-Org/hello-web:v1.4.2"`, `"package_url": ""`))
			}},
		{name: "malformed digest", err: `decode github package event: package_version.container_metadata.tag.digest "sha256:6c62fb45" is not a valid digest`,
			parse: func() ([]Push, error) {
				return ParseGitHub("package", "", []byte(strings.ReplaceAll(string(published), ghDigest, "sha256:6c62fb45")))
			}},
		{name: "legacy registry_package, untagged platform manifest", ignored: "untagged version of hello-web",
			parse: func() ([]Push, error) { return ParseGitHub("registry_package", "application/json", untagged) }},
		{name: "ping", ignored: "ping",
			parse: func() ([]Push, error) {
				return ParseGitHub("ping", "application/json", []byte(`{"zen":"Keep it logically awesome."}`))
			}},
		{name: "push event", ignored: `github event "push"`,
			parse: func() ([]Push, error) { return ParseGitHub("push", "application/json", published) }},
		{name: "deleted version", ignored: `package action "deleted"`,
			parse: func() ([]Push, error) {
				return ParseGitHub("package", "application/json", replace(`"action": "published"`, `"action": "deleted"`))
			}},
		{name: "npm package", ignored: "package hello-web is a npm package",
			parse: func() ([]Push, error) {
				b := strings.Replace(string(published), `"ecosystem": "CONTAINER"`, `"ecosystem": "npm"`, 1)
				return ParseGitHub("package", "application/json", []byte(strings.Replace(b, `"package_type": "CONTAINER"`, `"package_type": "npm"`, 1)))
			}},
		{name: "event header missing", err: "decode github event: no X-GitHub-Event header",
			parse: func() ([]Push, error) { return ParseGitHub("", "application/json", published) }},
		{name: "legacy event name with new payload", err: `decode github registry_package event: no "registry_package" object`,
			parse: func() ([]Push, error) { return ParseGitHub("registry_package", "application/json", published) }},
		{name: "truncated", err: "decode github package event: unexpected end of JSON input",
			parse: func() ([]Push, error) { return ParseGitHub("package", "application/json", published[:100]) }},
		{name: "empty", err: "decode github package event: empty body",
			parse: func() ([]Push, error) { return ParseGitHub("package", "application/json", nil) }},
		{name: "form without payload", err: `decode github event: form body has no "payload" field`,
			parse: func() ([]Push, error) {
				return ParseGitHub("package", "application/x-www-form-urlencoded", []byte("a=b"))
			}},
		{name: "xml", err: `unsupported content type "application/xml" (want application/json or application/x-www-form-urlencoded)`,
			parse: func() ([]Push, error) { return ParseGitHub("package", "application/xml", published) }},
		{name: "no container metadata", err: "decode github package event: package hello-web has no package_version.container_metadata",
			parse: func() ([]Push, error) {
				return ParseGitHub("package", "application/json", []byte(`{"action":"published","package":{"name":"hello-web","package_type":"container","package_version":{}}}`))
			}},
	})
}

func TestParseGitea(t *testing.T) {
	created := readSample(t, "gitea-package-created.json")
	replace := func(old, new string) []byte { return []byte(strings.Replace(string(created), old, new, 1)) }
	want := []Push{{Registry: "git.example.com", Repository: "team/web", Tag: "v2.0.1", Time: mustTime("2025-05-20T08:31:55Z")}}
	runParseCases(t, []parseCase{
		{name: "container tag created", want: want,
			parse: func() ([]Push, error) { return ParseGitea("package", "application/json", created) }},
		{name: "form-encoded", want: want,
			parse: func() ([]Push, error) {
				return ParseGitea("package", "application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(created))))
			}},
		{name: "instance on a port",
			want: []Push{{Registry: "git.example.com:3000", Repository: "team/web", Tag: "v2.0.1", Time: mustTime("2025-05-20T08:31:55Z")}},
			parse: func() ([]Push, error) {
				return ParseGitea("package", "application/json", replace("https://git.example.com/team", "http://git.example.com:3000/team"))
			}},
		{name: "digest-only version", ignored: "digest-only version sha256:7c6b",
			parse: func() ([]Push, error) {
				return ParseGitea("package", "application/json", readSample(t, "gitea-package-digest-version.json"))
			}},
		{name: "deleted", ignored: `package action "deleted"`,
			parse: func() ([]Push, error) {
				return ParseGitea("package", "application/json", replace(`"action": "created"`, `"action": "deleted"`))
			}},
		{name: "npm package", ignored: "package web is a npm package",
			parse: func() ([]Push, error) {
				return ParseGitea("package", "application/json", replace(`"type": "container"`, `"type": "npm"`))
			}},
		{name: "push event", ignored: `gitea event "push"`,
			parse: func() ([]Push, error) { return ParseGitea("push", "application/json", created) }},
		{name: "no event header", err: "decode gitea event: no X-Gitea-Event",
			parse: func() ([]Push, error) { return ParseGitea("", "application/json", created) }},
		{name: "no html_url", err: `decode gitea package event: package.html_url "" does not name the registry host`,
			parse: func() ([]Push, error) {
				return ParseGitea("package", "application/json", replace(`"https://git.example.com/team/-/packages/container/web/v2.0.1"`, `""`))
			}},
		{name: "no package", err: `decode gitea package event: no "package" object`,
			parse: func() ([]Push, error) {
				return ParseGitea("package", "application/json", []byte(`{"action":"created"}`))
			}},
		{name: "malformed", err: "decode gitea package event: invalid character",
			parse: func() ([]Push, error) { return ParseGitea("package", "application/json", []byte(`{"action":`+"\x00")) }},
	})
}

func TestParseHarbor(t *testing.T) {
	def := readSample(t, "harbor-push-artifact.json")
	ce := readSample(t, "harbor-push-artifact-cloudevents.json")
	push := func(id string, when time.Time) []Push {
		return []Push{{Registry: "harbor.example.com", Repository: "shop/frontend", Tag: "2025.06.11", Digest: harborDigest, EventID: id, Time: when}}
	}
	got, err := ParseHarbor("application/json", def)
	if err != nil || len(got) != 1 || !strings.HasPrefix(got[0].EventID, "body-") {
		t.Fatalf("default format: %+v, %v: want a body-hash event id", got, err)
	}
	bodyID := got[0].EventID
	if again, _ := ParseHarbor("application/json", def); again[0].EventID != bodyID {
		t.Fatal("the same body must give the same event id")
	}
	other := []byte(strings.Replace(string(def), "1749651607", "1749651608", 1))
	if o, _ := ParseHarbor("application/json", other); o[0].EventID == bodyID {
		t.Fatal("another push must give another event id")
	}
	runParseCases(t, []parseCase{
		{name: "default format", want: push(bodyID, time.Unix(1749651607, 0).UTC()),
			parse: func() ([]Push, error) { return ParseHarbor("application/json", def) }},
		{name: "cloudevents", want: push("c0d8a6f2-41b7-4a55-8a3e-2b7f9e0d1c44", mustTime("2025-06-11T14:20:07Z")),
			parse: func() ([]Push, error) { return ParseHarbor(CloudEventsJSON, ce) }},
		{name: "cloudevents sent as plain json", want: push("c0d8a6f2-41b7-4a55-8a3e-2b7f9e0d1c44", mustTime("2025-06-11T14:20:07Z")),
			parse: func() ([]Push, error) { return ParseHarbor("application/json; charset=utf-8", ce) }},
		{name: "pull", ignored: `harbor event type "PULL_ARTIFACT"`,
			parse: func() ([]Push, error) {
				return ParseHarbor("application/json", readSample(t, "harbor-pull-artifact.json"))
			}},
		{name: "cloudevents pull", ignored: `harbor event type "harbor.artifact.pulled"`,
			parse: func() ([]Push, error) {
				return ParseHarbor(CloudEventsJSON, []byte(strings.Replace(string(ce), "artifact.pushed", "artifact.pulled", 1)))
			}},
		{name: "push by digest", ignored: "no tagged artifact",
			parse: func() ([]Push, error) {
				return ParseHarbor("application/json", []byte(strings.Replace(string(def), `"tag": "2025.06.11"`, `"tag": ""`, 1)))
			}},
		{name: "no event_data", err: `decode harbor event: no "event_data" object`,
			parse: func() ([]Push, error) { return ParseHarbor("application/json", []byte(`{"type":"PUSH_ARTIFACT"}`)) }},
		{name: "cloudevents without data", err: `decode harbor cloudevent: no "data" object`,
			parse: func() ([]Push, error) {
				return ParseHarbor(CloudEventsJSON, []byte(`{"specversion":"1.0","type":"harbor.artifact.pushed"}`))
			}},
		{name: "no resource_url", err: `decode harbor event: resource_url "" does not name the registry host`,
			parse: func() ([]Push, error) {
				return ParseHarbor("application/json", []byte(strings.Replace(string(def), `"harbor.example.com/shop/frontend:2025.06.11"`, `""`, 1)))
			}},
		{name: "no repository", err: "decode harbor event: no repository.repo_full_name",
			parse: func() ([]Push, error) {
				return ParseHarbor("application/json", []byte(`{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"tag":"v1","resource_url":"h/x:v1"}]}}`))
			}},
		{name: "occur_at of the wrong type", err: "decode harbor event: json: cannot unmarshal string",
			parse: func() ([]Push, error) {
				return ParseHarbor("application/json", []byte(strings.Replace(string(def), "1749651607", `"yesterday"`, 1)))
			}},
		{name: "text", err: `unsupported content type "text/plain" (want application/json or application/cloudevents+json)`,
			parse: func() ([]Push, error) { return ParseHarbor("text/plain", def) }},
		{name: "form: harbor sends only json", err: `unsupported content type "application/x-www-form-urlencoded"`,
			parse: func() ([]Push, error) {
				return ParseHarbor("application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(def))))
			}},
		{name: "empty", err: "decode harbor event: empty body",
			parse: func() ([]Push, error) { return ParseHarbor("application/json", []byte("  ")) }},
	})
}

func TestParseDockerHub(t *testing.T) {
	body := readSample(t, "dockerhub-push.json")
	got, err := ParseDockerHub(body)
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v, %v", got, err)
	}
	id := got[0].EventID
	runParseCases(t, []parseCase{
		{name: "push", want: []Push{{Registry: "docker.io", Repository: "acme/api", Tag: "1.9.0", EventID: id, Time: time.Unix(1749652311, 0).UTC()}},
			parse: func() ([]Push, error) { return ParseDockerHub(body) }},
		{name: "float pushed_at, name parts only",
			want: []Push{{Registry: "docker.io", Repository: "svc/app", Tag: "latest",
				EventID: "body-" + hash16(`{"push_data":{"pushed_at":1.417566161e+09,"tag":"latest"},"repository":{"namespace":"svc","name":"app"}}`),
				Time:    time.Unix(1417566161, 0).UTC()}},
			parse: func() ([]Push, error) {
				return ParseDockerHub([]byte(`{"push_data":{"pushed_at":1.417566161e+09,"tag":"latest"},"repository":{"namespace":"svc","name":"app"}}`))
			}},
		{name: "no tag", ignored: "docker hub push of acme/api without a tag",
			parse: func() ([]Push, error) {
				return ParseDockerHub([]byte(strings.Replace(string(body), `"tag": "1.9.0"`, `"tag": ""`, 1)))
			}},
		{name: "distribution envelope", err: `decode docker hub event: want "repository" and "push_data" objects`,
			parse: func() ([]Push, error) { return ParseDockerHub(readSample(t, "distribution-v3-manifest-push.json")) }},
		{name: "no repo name", err: "decode docker hub event: no repository.repo_name",
			parse: func() ([]Push, error) { return ParseDockerHub([]byte(`{"push_data":{"tag":"v1"},"repository":{}}`)) }},
		{name: "not json", err: "decode docker hub event: invalid character",
			parse: func() ([]Push, error) { return ParseDockerHub([]byte(`repo=acme/api&tag=v1`)) }},
	})
}

func TestParseQuay(t *testing.T) {
	both := []Push{
		{Registry: "quay.io", Repository: "acme/worker", Tag: "v3.1.0"},
		{Registry: "quay.io", Repository: "acme/worker", Tag: "latest"},
	}
	runParseCases(t, []parseCase{
		{name: "list shape", want: both,
			parse: func() ([]Push, error) { return ParseQuay(readSample(t, "quay-push-list.json")) }},
		{name: "map shape (sorted)", want: []Push{both[1], both[0]},
			parse: func() ([]Push, error) { return ParseQuay(readSample(t, "quay-push-map.json")) }},
		{name: "self-hosted quay",
			want: []Push{{Registry: "quay.corp.example:8443", Repository: "acme/worker", Tag: "v1"}},
			parse: func() ([]Push, error) {
				return ParseQuay([]byte(`{"repository":"acme/worker","docker_url":"quay.corp.example:8443/acme/worker","updated_tags":["v1"]}`))
			}},
		{name: "no docker_url: quay.io",
			want:  []Push{{Registry: "quay.io", Repository: "acme/worker", Tag: "v1"}},
			parse: func() ([]Push, error) { return ParseQuay([]byte(`{"repository":"acme/worker","updated_tags":["v1"]}`)) }},
		{name: "no tags", ignored: "quay event for quay.io/acme/worker updates no tag",
			parse: func() ([]Push, error) {
				return ParseQuay([]byte(`{"docker_url":"quay.io/acme/worker","updated_tags":[]}`))
			}},
		{name: "build event", ignored: "quay event for quay.io/acme/worker updates no tag",
			parse: func() ([]Push, error) {
				return ParseQuay([]byte(`{"build_id":"296e","docker_url":"quay.io/acme/worker","docker_tags":["main"]}`))
			}},
		{name: "updated_tags of the wrong shape", err: "decode quay event: updated_tags is neither",
			parse: func() ([]Push, error) {
				return ParseQuay([]byte(`{"docker_url":"quay.io/acme/worker","updated_tags":"latest"}`))
			}},
		{name: "no image", err: `decode quay event: docker_url "" does not name host/repository`,
			parse: func() ([]Push, error) { return ParseQuay([]byte(`{"updated_tags":["v1"]}`)) }},
		{name: "truncated", err: "decode quay event: unexpected end of JSON input",
			parse: func() ([]Push, error) { return ParseQuay([]byte(`{"docker_url":"quay.io/a/b","updated_tags":[`)) }},
	})
}
