package registryapi

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/tinyforge/tinyforge/imageref"
)

// builtinTokenHosts are the token services of registries whose realm is
// not on their own host, known without configuration.
var builtinTokenHosts = map[string]string{
	imageref.DockerHub: "auth.docker.io",
}

// allow applies the Allow policy to an image before anything is sent.
func (r *Resolver) allow(image string) error {
	if r.Allow == nil {
		return nil
	}
	return r.Allow(image)
}

// checkRealm decides whether a 401 challenge of the registry at host may
// send the resolver, with the registry's credentials, to the token realm
// u. The realm must be on the registry's own API host (host and port) or
// its Endpoints host,
// be Docker Hub's auth.docker.io for docker.io, or be on a host listed in
// TokenHosts; and it must be HTTPS unless the registry itself is reached
// over plain HTTP. Otherwise a registry answer could make the sidecar
// send requests, and Basic credentials, to any host, internal ones too.
func (r *Resolver) checkRealm(host string, u *url.URL) error {
	endpoint, mapped := r.Endpoints[host]
	if u.Scheme != "https" && !r.insecure(host) && !(mapped && strings.HasPrefix(endpoint, "http://")) {
		return fmt.Errorf("token realm %s of registry %s is plain HTTP: refused, the registry's credentials would travel in clear", u.Redacted(), host)
	}
	realm := hostPort(u)
	if e, err := url.Parse(endpoint); mapped && err == nil && realm == hostPort(&url.URL{Scheme: u.Scheme, Host: e.Host}) {
		return nil
	}
	if realm == hostPort(&url.URL{Scheme: u.Scheme, Host: imageref.APIHost(host)}) ||
		realm == builtinTokenHosts[host] ||
		slices.ContainsFunc(r.TokenHosts, func(h string) bool { return hostPort(&url.URL{Scheme: u.Scheme, Host: h}) == realm }) {
		return nil
	}
	return fmt.Errorf("token realm %s of registry %s is on another host: refused (list %s in --registry-token-hosts to allow it)", u.Redacted(), host, realm)
}

// hostPort is u's host in lower case, with the scheme's default port
// dropped, so https://h:443 and https://h compare equal.
func hostPort(u *url.URL) string {
	h, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return net.JoinHostPort(h, port)
}
