// Package fuzzreq turns a fuzzer's inputs into the HTTP request a server
// would hand its handler, for the fuzz targets of the HTTP handlers
// (sidecar, ui): one way to build and parse them, so the targets cannot
// drift apart in what counts as a request.
package fuzzreq

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
)

// Parse writes an HTTP/1.1 request for host with method and target, the
// header lines of header (newline-separated, empty ones dropped), then
// extra, then body with its Content-Length, and parses it as net/http's
// server does. It returns the raw request and ok false when a server
// would answer 400 before any handler ran.
func Parse(host, method, target, header string, extra []string, body string) (*http.Request, string, bool) {
	var raw strings.Builder
	fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
	for _, line := range strings.Split(header, "\n") {
		if line = strings.TrimSuffix(line, "\r"); line != "" {
			raw.WriteString(line + "\r\n")
		}
	}
	for _, line := range extra {
		raw.WriteString(line + "\r\n")
	}
	fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n%s", len(body), body)
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw.String())))
	if err != nil || req.URL.Path == "" || req.URL.Path[0] != '/' {
		return nil, raw.String(), false
	}
	return req, raw.String(), true
}
