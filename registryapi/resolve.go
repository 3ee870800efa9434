package registryapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/internal/redirect"
)

// ErrNotFound is returned (wrapped) when the registry has no manifest for
// the tag, or no such repository: a deploy of it can only fail.
var ErrNotFound = errors.New("manifest not found")

// manifestTypes are the manifest media types a pull accepts: the index
// types first, so a multi-arch tag resolves to its index, as it does for
// `docker pull`.
var manifestTypes = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}

// Resolver resolves tags to manifest digests. The zero value works:
// anonymous, HTTPS except for loopback registries (which Docker also
// trusts over plain HTTP), a 10-second timeout per request.
type Resolver struct {
	// Client sends the requests; nil uses a client with a 10 s timeout.
	Client *http.Client
	// Insecure lists further registry hosts ("host" or "host:port")
	// reached over plain HTTP.
	Insecure []string
	// Credentials returns the login for a registry host, used for Basic
	// auth or to obtain a bearer token; nil or !ok means anonymous.
	Credentials func(host string) (username, password string, ok bool)
	// PageSize is the n of tag list requests, the most tags a page may
	// hold; 0 leaves it to the registry.
	PageSize int
	// Allow, when set, refuses an image (the operator's --allowed-images)
	// before any request is sent for it.
	Allow func(image string) error
	// TokenHosts lists hosts, besides a registry's own, that may issue its
	// bearer tokens (see checkRealm).
	TokenHosts []string
	// Endpoints maps a registry host as images name it (canonical, e.g.
	// "127.0.0.1:5000") to the base URL the resolver reaches it at
	// ("http://registry:5000"), for a registry the sidecar sees under
	// another name than the engine (the compose stack's bundled one).
	// Its token realm may be on either host.
	Endpoints map[string]string
}

var defaultClient = &http.Client{Timeout: 10 * time.Second, CheckRedirect: redirect.SameHost}

// Digest returns the digest of the manifest that image:tag points at. The
// image is a repository as Docker names it ("nginx", "ghcr.io/o/app",
// "127.0.0.1:5000/x"). Registries that answer 401 with a Bearer challenge
// get the anonymous (or credentialed) token dance of the distribution
// token spec; Basic challenges get the credentials, when there are any.
func (r *Resolver) Digest(ctx context.Context, image, tag string) (string, error) {
	ref, err := imageref.Parse(image)
	if err != nil {
		return "", fmt.Errorf("resolve %s:%s: %w", image, tag, err)
	}
	if !imageref.ValidTag(tag) {
		return "", fmt.Errorf("resolve %s:%s: tag %q is not valid: %s", image, tag, tag, imageref.TagRule)
	}
	if err := r.allow(image); err != nil {
		return "", fmt.Errorf("resolve %s:%s: %w", image, tag, err)
	}
	host, path := ref.Host, ref.Path
	url := r.baseURL(host) + "/v2/" + path + "/manifests/" + tag
	what := host + "/" + path + ":" + tag

	auth := ""
	resp, err := r.send(ctx, http.MethodHead, url, manifestAccept, host, path, &auth)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", what, err)
	}
	drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		if d := resp.Header.Get("Docker-Content-Digest"); d != "" {
			return d, nil
		}
		return r.digestOfBody(ctx, url, auth, what)
	case http.StatusNotFound:
		return "", fmt.Errorf("resolve %s: %w", what, ErrNotFound)
	}
	return "", fmt.Errorf("resolve %s: HEAD %s: %s", what, url, resp.Status)
}

// digestOfBody fetches the manifest and hashes it, for registries whose
// HEAD answers lack Docker-Content-Digest.
func (r *Resolver) digestOfBody(ctx context.Context, url, auth, what string) (string, error) {
	req, err := r.request(ctx, http.MethodGet, url, manifestAccept, auth)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", what, err)
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("resolve %s: %w", what, ErrNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("resolve %s: GET %s: %s", what, url, resp.Status)
	}
	if d := resp.Header.Get("Docker-Content-Digest"); d != "" {
		return d, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(resp.Body, 4<<20)); err != nil {
		return "", fmt.Errorf("resolve %s: read manifest: %w", what, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// manifestAccept is the Accept header of manifest requests.
var manifestAccept = strings.Join(manifestTypes, ", ")

// send sends one request to the repository host/path and answers a 401
// as authorize does, retrying once with the credentials it finds. *auth
// is the Authorization header to start with, and on return the one that
// was last sent, so a caller making several requests (pages of a list)
// runs the token dance once. The caller closes the response body.
func (r *Resolver) send(ctx context.Context, method, url, accept, host, path string, auth *string) (*http.Response, error) {
	req, err := r.request(ctx, method, url, accept, *auth)
	if err != nil {
		return nil, err
	}
	resp, err := r.client().Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	drain(resp)
	next, err := r.authorize(ctx, host, path, resp.Header.Values("WWW-Authenticate"))
	if err != nil || next == "" {
		return resp, err // no way in: the 401 stands
	}
	*auth = next
	if req, err = r.request(ctx, method, url, accept, next); err != nil {
		return nil, err
	}
	return r.client().Do(req)
}

// drain reads what is left of a body worth little (a HEAD answer, an
// error page) and closes it, so the connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

func (r *Resolver) request(ctx context.Context, method, url, accept, auth string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req, nil
}

// baseURL is the scheme and API host of a registry, as Docker reaches it,
// or its entry in Endpoints.
func (r *Resolver) baseURL(host string) string {
	if u, ok := r.Endpoints[host]; ok {
		return strings.TrimSuffix(u, "/")
	}
	if r.insecure(host) {
		return "http://" + imageref.APIHost(host)
	}
	return "https://" + imageref.APIHost(host)
}

// client is the configured client with redirect.SameHost: no answer may
// lead a request (and its Authorization header) to another host.
func (r *Resolver) client() *http.Client {
	if r.Client != nil {
		return redirect.Client(r.Client)
	}
	return defaultClient
}

// insecure reports whether host is reached over plain HTTP: loopback
// hosts always (as Docker treats them), and the configured ones (in any
// case, Docker Hub aliases folded, as image hosts are).
func (r *Resolver) insecure(host string) bool {
	if slices.ContainsFunc(r.Insecure, func(h string) bool { return imageref.CanonicalHost(h) == host }) {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
