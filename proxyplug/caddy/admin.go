package caddy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// adminClient speaks Caddy's admin API.
type adminClient struct {
	base   string // e.g. http://127.0.0.1:2019, no trailing slash
	origin string // scheme://host of base
	http   *http.Client
}

func newAdminClient(base string, hc *http.Client) adminClient {
	base = strings.TrimRight(base, "/")
	origin := base
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	}
	return adminClient{base: base, origin: origin, http: hc}
}

// statusError is a non-2xx answer of the admin API, carrying Caddy's body.
type statusError struct {
	Code   int
	Status string // e.g. "400 Bad Request"
	Body   string
}

func (e *statusError) Error() string { return e.Status + ": " + e.Body }

// attempts bounds how often an operation is sent when Caddy dropped the
// connection without answering.
const attempts = 3

// retry runs op again when the admin endpoint dropped the connection
// without answering: Caddy 2.6 replaces its admin listener on every config
// change (a new SO_REUSEPORT socket; the old one is closed asynchronously,
// after the change returned), and the kernel resets connections still
// queued on the old socket. Seen under concurrent writers. op must be safe
// to repeat.
func retry(ctx context.Context, op func() error) error {
	var err error
	for i := 1; ; i++ {
		err = op()
		var ue *url.Error
		if err == nil || !errors.As(err, &ue) || ue.Timeout() || ctx.Err() != nil || i == attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i) * 20 * time.Millisecond):
		}
	}
}

// hasStatus reports whether err is an admin API answer with that code.
func hasStatus(err error, code int) bool {
	var se *statusError
	return errors.As(err, &se) && se.Code == code
}

// do sends one request; in (when not nil) is the JSON body, out (when not
// nil) receives the decoded JSON answer.
func (a adminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// The Host header comes from base, which is what Caddy's DNS-rebinding
	// check compares with its listen address; Origin only matters when the
	// admin block sets enforce_origin, and then it must name the endpoint.
	req.Header.Set("Origin", a.origin)
	// Caddy may restart its admin endpoint on a config change; a pooled
	// connection closed under a non-idempotent request would fail it.
	req.Close = true
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &statusError{Code: resp.StatusCode, Status: resp.Status, Body: strings.TrimSpace(string(b))}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

// getOptional reads the config at path into out and reports whether it
// exists. Caddy 2.6 answers a missing key of an existing object with 200
// and null, but a key below a missing object with 400 "invalid traversal
// path": both mean absent.
func (a adminClient) getOptional(ctx context.Context, path string, out any) (bool, error) {
	var raw json.RawMessage
	err := a.do(ctx, http.MethodGet, path, nil, &raw)
	var se *statusError
	if errors.As(err, &se) && se.Code == http.StatusBadRequest && strings.Contains(se.Body, "invalid traversal path") {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return false, fmt.Errorf("decode GET %s: %w", path, err)
	}
	return true, nil
}
