package dockerhost

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/jsonmessage"
)

// Pull pulls ref with the stored registry credentials named creds ("" =
// anonymous; PullAuth turns the name into credentials) and returns the
// manifest digest it resolved to in ref's repository ("" when the engine
// records none). The engine answers 200
// before the pull is done and reports failures inside the progress stream,
// so the whole stream is read and any error in it fails the pull. A ref
// by digest that the engine already has is not pulled again.
func (h *Host) Pull(ctx context.Context, ref, creds string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	if err := h.Images.Allows(ref); err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	auth, err := h.registryAuth(ctx, creds, ref) // unreadable credentials fail even a cached ref
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	if c, ok := named.(reference.Canonical); ok {
		// A digest names content: when the engine has it, pulling it again
		// would only ask the registry what is already here.
		if _, err := h.engine.ImageInspect(ctx, ref); err == nil {
			return c.Digest().String(), nil
		}
	}
	// A tag a registry has just announced may not be linked yet
	// (distribution notifies before it links the tag): a pull by tag that
	// finds no manifest is tried again for a few seconds.
	_, byDigest := named.(reference.Canonical)
	for wait := tagLinkFirstWait; ; wait *= 2 {
		err = h.pull(ctx, ref, auth)
		if err == nil || byDigest || !cerrdefs.IsNotFound(err) || wait > tagLinkLastWait {
			break
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("pull %s: %w", ref, err)
		case <-time.After(wait):
		}
	}
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	if c, ok := named.(reference.Canonical); ok {
		return c.Digest().String(), nil
	}
	inspect, err := h.engine.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("pull %s: inspect: %w", ref, err)
	}
	return repoDigest(named.Name(), inspect.RepoDigests), nil
}

// A pull by tag that finds no manifest waits tagLinkFirstWait, then twice
// as long each time, up to tagLinkLastWait: about 3 s in all.
const (
	tagLinkFirstWait = 100 * time.Millisecond
	tagLinkLastWait  = 1600 * time.Millisecond
)

// pull runs one pull of ref and reads its progress stream to the end,
// where the engine reports failures.
func (h *Host) pull(ctx context.Context, ref, auth string) error {
	body, err := h.engine.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer body.Close()
	return jsonmessage.DisplayJSONMessagesStream(body, io.Discard, 0, false, nil)
}

// registryAuth encodes the X-Registry-Auth header. It is always sent, empty
// when anonymous: a header the engine cannot decode is silently ignored.
func (h *Host) registryAuth(ctx context.Context, creds, ref string) (string, error) {
	var ac registry.AuthConfig
	if h.PullAuth != nil {
		c, ok, err := h.PullAuth(ctx, creds, ref)
		if err != nil {
			return "", err
		}
		if ok {
			ac = c
		}
	}
	return registry.EncodeAuthConfig(ac)
}

// repoDigest returns the digest of the RepoDigests entry ("repo@sha256:…")
// whose repository is repo (fully qualified, as reference.Named.Name gives).
func repoDigest(repo string, repoDigests []string) string {
	for _, rd := range repoDigests {
		name, dgst, ok := strings.Cut(rd, "@")
		if !ok {
			continue
		}
		n, err := reference.ParseNormalizedNamed(name)
		if err != nil || n.Name() != repo {
			continue
		}
		return dgst
	}
	return ""
}
