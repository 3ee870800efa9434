package webhook

import (
	"net/url"
	"strings"
	"testing"
)

// TestParsersRefuseBadTagsAndDigests: every parser refuses a tag or digest
// outside the grammar with an error naming the field it came from, before
// anything downstream sees it.
func TestParsersRefuseBadTagsAndDigests(t *testing.T) {
	const bad = `../../etc\nX`
	github := readSample(t, "github-package-published.json")
	harbor := readSample(t, "harbor-push-artifact.json")
	cases := []struct {
		name  string
		parse func() ([]Push, error)
		want  string
	}{
		{"distribution tag", func() ([]Push, error) {
			return ParseDistribution(DistributionEventsV1, []byte(`{"events":[{"id":"1","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+digestOf("1")+`","repository":"demo","tag":"`+bad+`"},"request":{"host":"r"}}]}`))
		}, `decode distribution events: events[0].target.tag "../../etc\nX" is not a valid tag`},
		{"distribution digest", func() ([]Push, error) {
			return ParseDistribution(DistributionEventsV1, body(event("1", "pull", "x", "a", "v1"), strings.Replace(event("2", "push", "application/vnd.oci.image.manifest.v1+json", "a", "v1"), digestOf("2"), "sha256:../x", 1)))
		}, `decode distribution events: events[1].target.digest "sha256:../x" is not a valid digest`},
		{"github tag", func() ([]Push, error) {
			return ParseGitHub("package", "application/json", []byte(strings.Replace(string(github), `"name": "v1.4.2"`, `"name": "`+bad+`"`, 1)))
		}, `decode github package event: package_version.container_metadata.tag.name "../../etc\nX" is not a valid tag`},
		{"github manifest digest", func() ([]Push, error) {
			return ParseGitHub("package", "application/json", []byte(strings.Replace(string(github), `"digest": "`+ghDigest+`",
          "media_type"`, `"digest": "SHA256:`+strings.Repeat("A", 64)+`",
          "media_type"`, 1)))
		}, `decode github package event: package_version.container_metadata.manifest.digest "SHA256:AAAA`},
		{"gitea version", func() ([]Push, error) {
			return ParseGitea("package", "application/json", []byte(strings.Replace(string(readSample(t, "gitea-package-created.json")), `"version": "v2.0.1"`, `"version": "-v2"`, 1)))
		}, `decode gitea package event: package.version "-v2" is not a valid tag`},
		{"harbor tag", func() ([]Push, error) {
			return ParseHarbor("application/json", []byte(strings.Replace(string(harbor), `"tag": "2025.06.11"`, `"tag": "a b"`, 1)))
		}, `decode harbor event: resources[0].tag "a b" is not a valid tag`},
		{"harbor digest", func() ([]Push, error) {
			return ParseHarbor("application/json", []byte(strings.Replace(string(harbor), harborDigest, "md5:1", 1)))
		}, `decode harbor event: resources[0].digest "md5:1" is not a valid digest`},
		{"docker hub tag", func() ([]Push, error) {
			return ParseDockerHub([]byte(`{"push_data":{"tag":"` + strings.Repeat("x", 129) + `"},"repository":{"repo_name":"a/b"}}`))
		}, `decode docker hub event: push_data.tag "xxxxxxxx`},
		{"quay tag", func() ([]Push, error) {
			return ParseQuay([]byte(`{"docker_url":"quay.io/a/b","updated_tags":["v1","v2/../../x"]}`))
		}, `decode quay event: updated_tags[1] "v2/../../x" is not a valid tag`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse()
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %q\nwant prefix %q", err, tc.want)
			}
			if got != nil {
				t.Fatalf("pushes %+v returned with the error", got)
			}
		})
	}
}

// TestSignedKey: GitHub and Gitea pushes carry a key of the signed bytes:
// the same for a replay of the same body, different for another body, and
// for Gitea the same whatever form encoding carries the signed payload.
func TestSignedKey(t *testing.T) {
	github := readSample(t, "github-package-published.json")
	key := func(p []Push, err error) string {
		t.Helper()
		if err != nil || len(p) != 1 {
			t.Fatalf("%+v, %v", p, err)
		}
		return p[0].SignedKey
	}
	k1 := key(ParseGitHub("package", "application/json", github))
	if k1 == "" || k1 != key(ParseGitHub("package", "application/json", github)) {
		t.Fatalf("github: key %q not stable", k1)
	}
	other := []byte(strings.Replace(string(github), "2025-06-11T16:40:07Z", "2025-06-11T16:40:08Z", 1))
	if key(ParseGitHub("package", "application/json", other)) == k1 {
		t.Fatal("github: another body has the same key")
	}

	gitea := readSample(t, "gitea-package-created.json")
	g1 := key(ParseGitea("package", "application/json", gitea))
	form := key(ParseGitea("package", "application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(gitea)))))
	reencoded := key(ParseGitea("package", "application/x-www-form-urlencoded", []byte("x=1&payload="+url.PathEscape(string(gitea)))))
	if g1 == "" || form != g1 || reencoded != g1 {
		t.Fatalf("gitea keys %q %q %q: want one key for one signed payload", g1, form, reencoded)
	}
}
