package testsvc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Manifest media types UploadImage and UploadIndex write.
const (
	OCIManifest = "application/vnd.oci.image.manifest.v1+json"
	OCIIndex    = "application/vnd.oci.image.index.v1+json"
)

// UploadImage writes a minimal image (a config blob and an OCI manifest
// without layers) straight to a registry over its HTTP API and tags it, so
// tests that only need a manifest in a registry need no Docker Engine. The
// config carries the tag, so every tag gets its own digest. It returns the
// manifest digest.
func UploadImage(t testing.TB, registryHost, repo, tag string) string {
	t.Helper()
	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{"Labels":{"tag":%q}},"rootfs":{"type":"layers","diff_ids":[]}}`, tag))
	cd := uploadBlob(t, registryHost, repo, config)
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[]}`,
		OCIManifest, cd, len(config)))
	return putManifest(t, registryHost, repo, tag, OCIManifest, manifest)
}

// UploadIndex tags an OCI index listing the given manifest digests (each
// for linux/amd64 in turn; the registry does not check) and returns the
// index digest.
func UploadIndex(t testing.TB, registryHost, repo, tag string, manifests ...string) string {
	t.Helper()
	var entries []string
	for _, d := range manifests {
		entries = append(entries, fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":1,"platform":{"architecture":"amd64","os":"linux"}}`, OCIManifest, d))
	}
	index := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, OCIIndex, strings.Join(entries, ",")))
	return putManifest(t, registryHost, repo, tag, OCIIndex, index)
}

func uploadBlob(t testing.TB, host, repo string, blob []byte) string {
	t.Helper()
	sum := sha256.Sum256(blob)
	dgst := "sha256:" + hex.EncodeToString(sum[:])
	resp, err := http.Post("http://"+host+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatalf("start blob upload: %v", err)
	}
	_ = resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("start blob upload: %s", resp.Status)
	}
	if strings.HasPrefix(loc, "/") {
		loc = "http://" + host + loc
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+dgst, bytes.NewReader(blob))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload blob: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload blob: %s %s", resp.Status, body)
	}
	return dgst
}

func putManifest(t testing.TB, host, repo, tag, mediaType string, manifest []byte) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://"+host+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(manifest))
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("put manifest %s:%s: %v", repo, tag, err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		var e json.RawMessage = body
		t.Fatalf("put manifest %s:%s: %s %s", repo, tag, resp.Status, e)
	}
	sum := sha256.Sum256(manifest)
	want := "sha256:" + hex.EncodeToString(sum[:])
	if got := resp.Header.Get("Docker-Content-Digest"); got != want {
		t.Fatalf("put manifest %s:%s: registry says digest %s, bytes hash to %s", repo, tag, got, want)
	}
	return want
}
