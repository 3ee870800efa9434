package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// reachTimeout bounds each reachability check: a dropped packet (another
// Docker network) shows as a timeout, a closed port as a refusal.
const reachTimeout = 3 * time.Second

// runReach reports, on out, whether this container can open a TCP
// connection to addr (host:port): the addresses the name resolves to, then
// "connected" or the error. It returns 0 when connected. The compose test
// runs it inside a deployed workload (docker exec) to prove what a
// workload can and cannot reach.
func runReach(out io.Writer, addr string) int {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintf(out, "bad address %q: %v\n", addr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
	defer cancel()
	if net.ParseIP(host) == nil {
		ips, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			fmt.Fprintf(out, "resolve %s: %v\n", host, err)
			return 1
		}
		fmt.Fprintf(out, "resolve %s: %s\n", host, strings.Join(ips, ","))
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		fmt.Fprintf(out, "connect %s: %v\n", addr, err)
		return 1
	}
	_ = conn.Close()
	fmt.Fprintf(out, "connect %s: connected\n", addr)
	return 0
}

// runGet sends GET url, through the address via when set (keeping the
// URL's host as Host and TLS server name), and prints the status line
// and the start of the body. TLS is not verified: this checks where a
// request gets, not whom to trust. It returns 0 on any HTTP answer.
func runGet(out io.Writer, url, via string) int {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	if via != "" {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, via)
		}
	}
	c := &http.Client{Timeout: reachTimeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintf(out, "get %s: %v\n", url, err)
		return 1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	fmt.Fprintf(out, "status %d %s\n", resp.StatusCode, strings.TrimSpace(string(b)))
	return 0
}
