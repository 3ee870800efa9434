package client

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tinyforge/tinyforge/internal/envdefault"
)

// Health runs `tinyforge health`, the image's HEALTHCHECK: it GETs
// /healthz of the sidecar listening at --listen (TINYFORGE_LISTEN, as the
// sidecar reads it) on this host and exits 0 when it answers 200, 1
// otherwise. It needs no shell or curl in the image.
func Health(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tinyforge health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var listen string
	var timeout time.Duration
	fs.StringVar(&listen, "listen", envdefault.Lookup(getenv, "listen", envdefault.Listen), envdefault.Usage("listen", "address the sidecar listens on"))
	def, envErr := time.ParseDuration(envdefault.Lookup(getenv, "health-timeout", "3s"))
	if envErr != nil {
		envErr = fmt.Errorf("%s: %w", envdefault.EnvName("health-timeout"), envErr)
	}
	fs.DurationVar(&timeout, "health-timeout", def, envdefault.Usage("health-timeout", "how long to wait for the answer"))
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if envErr != nil {
		fmt.Fprintln(stderr, "tinyforge health:", envErr)
		return 2
	}
	url, err := healthURL(listen)
	if err != nil {
		fmt.Fprintln(stderr, "tinyforge health:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "tinyforge health:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "tinyforge health: %s: %s\n", resp.Status, body)
		return 1
	}
	fmt.Fprintf(stdout, "ok %s\n", body)
	return 0
}

// healthURL turns a listen address into a URL on this host: an empty or
// unspecified host becomes loopback.
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", listen, err)
	}
	switch ip := net.ParseIP(host); {
	case host == "", ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
