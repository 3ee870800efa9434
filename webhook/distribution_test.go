package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const demoDigest = "sha256:fe6664b6f4cb7108cac7161fedc8ad9f316cb1caeab6a736bfddc48e9c29e4b3"

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseDistributionSamples uses payloads captured from real registries.
func TestParseDistributionSamples(t *testing.T) {
	tests := []struct {
		file, contentType string
		want              []Push
	}{
		{
			file: "distribution-v2.8-manifest-push.json", contentType: DistributionEventsV1,
			want: []Push{{Registry: "127.0.0.1:5001", Repository: "demo", Tag: "v1", Digest: demoDigest,
				MediaType: "application/vnd.docker.distribution.manifest.v2+json", EventID: "3e894b65-79e2-4372-8c99-f4affd44b8c5",
				Time: mustTime("2026-11-28T00:45:10.118298651Z")}},
		},
		{file: "distribution-v3-blob-push.json", contentType: DistributionEventsV2},
		{
			file: "distribution-v3-manifest-push.json", contentType: DistributionEventsV2,
			want: []Push{{Registry: "127.0.0.1:5000", Repository: "demo", Tag: "v1", Digest: demoDigest,
				MediaType: "application/vnd.docker.distribution.manifest.v2+json", EventID: "01a21f9a-18a4-729f-a27a-e16ca5bab35e",
				Time: mustTime("2026-11-28T00:42:02.276173078Z")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseDistribution(tt.contentType, readSample(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			for _, p := range got {
				if p.Image() != p.Registry+"/demo" {
					t.Errorf("Image() = %q", p.Image())
				}
			}
		})
	}
}

// event builds one distribution event as JSON.
func event(id, action, mediaType, repo, tag string) string {
	tagField := ""
	if tag != "" {
		tagField = `,"tag":"` + tag + `"`
	}
	return `{"id":"` + id + `","action":"` + action + `","target":{"mediaType":"` + mediaType +
		`","digest":"` + digestOf(id) + `","repository":"` + repo + `"` + tagField + `},"request":{"host":"reg.example.com"}}`
}

// digestOf is a well-formed digest that ends in id.
func digestOf(id string) string { return "sha256:" + strings.Repeat("0", 64-len(id)) + id }

func body(events ...string) []byte { return []byte(`{"events":[` + strings.Join(events, ",") + `]}`) }

func TestParseDistributionVariants(t *testing.T) {
	const (
		dockerV2 = "application/vnd.docker.distribution.manifest.v2+json"
		list     = "application/vnd.docker.distribution.manifest.list.v2+json"
		oci      = "application/vnd.oci.image.manifest.v1+json"
		index    = "application/vnd.oci.image.index.v1+json"
	)
	push := func(id, mediaType, repo, tag string) Push {
		return Push{Registry: "reg.example.com", Repository: repo, Tag: tag, Digest: digestOf(id), MediaType: mediaType, EventID: id}
	}
	tests := []struct {
		name, contentType string
		body              []byte
		want              []Push
	}{
		{
			name:        "multi-arch push: blobs, untagged platform manifests, tagged index",
			contentType: DistributionEventsV2,
			body: body(
				event("1", "push", "application/octet-stream", "team/web", ""),
				event("2", "push", "application/vnd.oci.image.layer.v1.tar+gzip", "team/web", ""),
				event("3", "push", oci, "team/web", ""),
				event("4", "push", oci, "team/web", ""),
				event("5", "push", index, "team/web", "v2"),
			),
			want: []Push{push("5", index, "team/web", "v2")},
		},
		{
			name:        "several tagged pushes in delivery order",
			contentType: DistributionEventsV1,
			body: body(
				event("1", "push", dockerV2, "a", "v1"),
				event("2", "push", list, "b", "latest"),
				event("3", "push", oci, "c/d", "1.0"),
			),
			want: []Push{push("1", dockerV2, "a", "v1"), push("2", list, "b", "latest"), push("3", oci, "c/d", "1.0")},
		},
		{
			name:        "pulls, deletes and mounts are ignored",
			contentType: DistributionEventsV2,
			body: body(
				event("1", "pull", dockerV2, "a", "v1"),
				event("2", "delete", dockerV2, "a", "v1"),
				event("3", "mount", dockerV2, "a", "v1"),
			),
		},
		{
			name:        "untagged manifest push",
			contentType: DistributionEventsV2,
			body:        body(event("1", "push", dockerV2, "a", "")),
		},
		{
			name:        "schema1 manifests are not deployable",
			contentType: DistributionEventsV1,
			body:        body(event("1", "push", "application/vnd.docker.distribution.manifest.v1+prettyjws", "a", "v1")),
		},
		{
			name:        "tagged push without repository",
			contentType: DistributionEventsV1,
			body:        body(event("1", "push", dockerV2, "", "v1")),
		},
		{
			name:        "media type with parameters and case",
			contentType: DistributionEventsV1,
			body:        body(event("1", "push", "Application/VND.OCI.image.manifest.v1+json; charset=utf-8", "a", "v1")),
			want:        []Push{push("1", oci, "a", "v1")},
		},
		{name: "empty events list", contentType: DistributionEventsV2, body: []byte(`{"events":[]}`)},
		{
			name:        "plain application/json with charset",
			contentType: "application/json; charset=utf-8",
			body:        body(event("1", "push", dockerV2, "a", "v1")),
			want:        []Push{push("1", dockerV2, "a", "v1")},
		},
		{
			name:        "content type is case-insensitive",
			contentType: "Application/VND.Docker.Distribution.Events.V2+JSON",
			body:        body(event("1", "push", dockerV2, "a", "v1")),
			want:        []Push{push("1", dockerV2, "a", "v1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDistribution(tt.contentType, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseDistributionErrors(t *testing.T) {
	sample := readSample(t, "distribution-v3-manifest-push.json")
	tests := []struct {
		name, contentType string
		body              []byte
		want              string
		contentTypeErr    bool
	}{
		{name: "wrong content type", contentType: "text/plain", body: sample, contentTypeErr: true,
			want: `unsupported content type "text/plain" (want application/vnd.docker.distribution.events.v1+json, application/vnd.docker.distribution.events.v2+json or application/json)`},
		{name: "docker hub style", contentType: "application/x-www-form-urlencoded", body: sample, contentTypeErr: true,
			want: `unsupported content type "application/x-www-form-urlencoded"`},
		{name: "missing content type", contentType: "", body: sample, contentTypeErr: true,
			want: `unsupported content type "": mime: no media type`},
		{name: "truncated body", contentType: DistributionEventsV2, body: sample[:len(sample)/2],
			want: "decode distribution events: unexpected end of JSON input"},
		{name: "empty body", contentType: DistributionEventsV2, body: nil,
			want: "decode distribution events: empty body"},
		{name: "not an object", contentType: DistributionEventsV2, body: []byte(`[]`),
			want: "decode distribution events: json: cannot unmarshal array into Go value of type webhook.distributionEnvelope"},
		{name: "no events field", contentType: "application/json", body: []byte(`{"repository":{"repo_name":"a/b"},"push_data":{"tag":"v1"}}`),
			want: `decode distribution events: no "events" array in the body`},
		{name: "events is null", contentType: DistributionEventsV1, body: []byte(`{"events":null}`),
			want: `decode distribution events: no "events" array in the body`},
		{name: "wrong field type", contentType: DistributionEventsV1, body: []byte(`{"events":[{"action":"push","target":{"tag":5}}]}`),
			want: "decode distribution events: json: cannot unmarshal number into Go struct field .events.target.tag of type string"},
		{name: "trailing garbage", contentType: DistributionEventsV1, body: append(append([]byte{}, sample...), '}'),
			want: "decode distribution events: invalid character '}' after top-level value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDistribution(tt.contentType, tt.body)
			if err == nil {
				t.Fatalf("no error, pushes %+v", got)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q\nwant prefix %q", err, tt.want)
			}
			if errors.Is(err, ErrContentType) != tt.contentTypeErr {
				t.Errorf("errors.Is(err, ErrContentType) = %v", !tt.contentTypeErr)
			}
		})
	}
}

func TestPushImage(t *testing.T) {
	for _, tt := range []struct {
		p    Push
		want string
	}{
		{Push{Registry: "127.0.0.1:5000", Repository: "demo"}, "127.0.0.1:5000/demo"},
		{Push{Registry: "ghcr.io", Repository: "team/web"}, "ghcr.io/team/web"},
		{Push{Repository: "team/web"}, "team/web"},
	} {
		if got := tt.p.Image(); got != tt.want {
			t.Errorf("%+v.Image() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// FuzzParseDistribution checks that no input panics and that every push
// returned is a tagged manifest push with a repository.
func FuzzParseDistribution(f *testing.F) {
	for _, name := range []string{"distribution-v2.8-manifest-push.json", "distribution-v3-blob-push.json", "distribution-v3-manifest-push.json"} {
		f.Add(DistributionEventsV2, readSample(f, name))
	}
	f.Add(DistributionEventsV1, body(event("1", "push", "application/vnd.oci.image.index.v1+json", "a", "v1"), event("2", "pull", "x", "a", "")))
	f.Add("application/json; charset=utf-8", []byte(`{"events":[]}`))
	f.Add("text/plain", []byte(`{"events":null}`))
	f.Add(DistributionEventsV2, []byte(`{"events":[{"target":{"tag":5}}]}`))
	f.Fuzz(func(t *testing.T, contentType string, b []byte) {
		pushes, err := ParseDistribution(contentType, b)
		if err != nil {
			if pushes != nil {
				t.Fatalf("pushes %+v with error %v", pushes, err)
			}
			return
		}
		for _, p := range pushes {
			if p.Tag == "" || p.Repository == "" || !manifestTypes[p.MediaType] {
				t.Fatalf("not a tagged manifest push: %+v", p)
			}
		}
	})
}
