package deployer

import (
	"net/http"

	"github.com/tinyforge/tinyforge/internal/redirect"
)

// probeClient is the health probe's client with redirect.SameHost: a
// container's answer must not make the sidecar send requests to other
// hosts, so a redirect elsewhere fails the probe instead of being followed.
func probeClient(c *http.Client) *http.Client { return redirect.Client(c) }
