// Package traefikapi reads Traefik's HTTP API (/api/http/routers/<name>,
// /api/http/services/<name>) so that the Traefik plugins can confirm
// Traefik itself runs a route before a deploy switches over: Traefik
// applies provider changes only after its throttle. It only reads, owns no
// state besides its client, and imports no other tinyforge package.
package traefikapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client asks one Traefik's API.
type Client struct {
	// Base is the API's base URL, e.g. http://traefik:8080.
	Base string
	// HTTP sends the requests; nil uses http.DefaultClient.
	HTTP *http.Client
}

// Router is what Traefik reports of a running HTTP router.
type Router struct {
	Status string `json:"status"` // "enabled" once Traefik runs it
	Rule   string `json:"rule"`
}

// Router returns the router name ("<router>@<provider>").
func (c Client) Router(ctx context.Context, name string) (Router, error) {
	var r Router
	err := c.getJSON(ctx, "/api/http/routers/"+url.PathEscape(name), &r)
	return r, err
}

// CheckBalances confirms that Traefik balances the service name
// ("<service>@<provider>") to upstream (host:port); the error says what it
// balances to instead.
func (c Client) CheckBalances(ctx context.Context, name, upstream string) error {
	var svc struct {
		LoadBalancer struct {
			Servers []struct {
				URL string `json:"url"`
			} `json:"servers"`
		} `json:"loadBalancer"`
	}
	if err := c.getJSON(ctx, "/api/http/services/"+url.PathEscape(name), &svc); err != nil {
		return err
	}
	want := "http://" + upstream
	for _, s := range svc.LoadBalancer.Servers {
		if s.URL == want {
			return nil
		}
	}
	return fmt.Errorf("traefik balances service %s to %v, not yet %s", name, svc.LoadBalancer.Servers, want)
}

// getJSON decodes the answer to GET path; any status but 200 is an error
// quoting the start of the body (Traefik says "router not found" there).
func (c Client) getJSON(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.Base, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("traefik api GET %s: %w", path, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("traefik api: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("traefik api GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("traefik api GET %s: %w", path, err)
	}
	return nil
}
