// Package redirect owns the one redirect rule of the sidecar's outgoing
// HTTP requests to hosts a label names (registries, health probes): a
// redirect may stay on the host and scheme of the first request, never
// lead elsewhere, so a label or an answer cannot make the sidecar send
// requests (and credentials) to hosts nobody allowed. It imports no
// tinyforge package.
package redirect

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrOtherHost is returned (wrapped) for a redirect to another host or
// scheme.
var ErrOtherHost = errors.New("redirect to another host refused")

// maxHops is the most redirects followed, as net/http's default.
const maxHops = 10

// SameHost is an http.Client CheckRedirect function: it follows up to 10
// redirects on the scheme and host (with port) of the first request.
func SameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= maxHops {
		return fmt.Errorf("stopped after %d redirects", maxHops)
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("%w: %s://%s to %s://%s", ErrOtherHost, first.Scheme, first.Host, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// Client returns a copy of c (nil: http.Client's zero value) whose
// redirects follow SameHost; the copy shares c's transport, so its
// connections are reused.
func Client(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.CheckRedirect = SameHost
	return &out
}
