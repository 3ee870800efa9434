package dockerhost_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// hook is one notification request as the receiver saw it.
type hook struct {
	auth, contentType string
	body              []byte
}

// envelope is the part of a distribution 2.x notification this test reads.
type envelope struct {
	Events []struct {
		ID     string `json:"id"`
		Action string `json:"action"`
		Target struct {
			MediaType  string `json:"mediaType"`
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
			Digest     string `json:"digest"`
		} `json:"target"`
		Request struct {
			Host string `json:"host"`
		} `json:"request"`
	} `json:"events"`
}

// TestRegistryNotifiesPush checks what the sidecar's webhook will receive
// from a real distribution 2.8: a push sends a tagged manifest event, with
// the configured bearer header.
func TestRegistryNotifiesPush(t *testing.T) {
	cli := testsvc.Docker(t)
	hooks := make(chan hook, 64)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/hook" {
			hooks <- hook{auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"), body: b}
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(recv.Close)

	reg := testsvc.Registry(t, &testsvc.Notify{URL: recv.URL + "/hook", Token: "s3cret"})
	repo := "tinyforge-" + testsvc.RunID + "/notify"
	ref := reg.Ref(repo + ":v7")
	testsvc.BuildImage(t, cli, ref, map[string]string{"APP_VERSION": "v7"})
	digest := testsvc.Push(t, cli, ref)

	timeout := time.After(15 * time.Second)
	for {
		select {
		case h := <-hooks:
			if h.auth != "Bearer s3cret" {
				t.Errorf("Authorization = %q, want Bearer s3cret", h.auth)
			}
			var env envelope
			if err := json.Unmarshal(h.body, &env); err != nil {
				t.Fatalf("notification body: %v\n%s", err, h.body)
			}
			for _, ev := range env.Events {
				if ev.Action != "push" || ev.Target.Tag == "" {
					continue // blob pushes, untagged manifests
				}
				t.Logf("content-type %s; tagged push event: %s", h.contentType, h.body)
				if ev.Target.Repository != repo || ev.Target.Tag != "v7" || ev.Target.Digest != digest ||
					!strings.Contains(ev.Target.MediaType, "manifest") || ev.Request.Host != reg.Host || ev.ID == "" {
					t.Errorf("tagged push event = %+v; want repository %s tag v7 digest %s host %s", ev, repo, digest, reg.Host)
				}
				if !strings.HasPrefix(h.contentType, "application/vnd.docker.distribution.events.v1+json") {
					t.Errorf("Content-Type = %q", h.contentType)
				}
				return
			}
		case <-timeout:
			t.Fatal("no tagged manifest push notification within 15s")
		}
	}
}
