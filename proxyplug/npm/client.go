package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// apiError is a non-2xx answer of NPM's API, with NPM's own message
// ({"error":{"code":400,"message":"..."}}).
type apiError struct {
	Code    int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

func hasCode(err error, code int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Code == code
}

// client speaks NPM's API with a bearer token it obtains and refreshes.
type client struct {
	base             string // http://host:81, no trailing slash
	identity, secret string
	http             *http.Client
	now              func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
	issued  time.Time
}

// refreshAt says when a token is due for renewal: once a quarter of its
// life is left, so a long deploy never runs into its expiry.
func refreshAt(issued, expires time.Time) time.Time {
	return expires.Add(-expires.Sub(issued) / 4)
}

// bearer returns a valid token: the current one, a renewed one (GET
// /api/tokens with the current token) once it is due, or a new login
// (POST /api/tokens) when there is none or renewal failed.
func (c *client) bearer(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.token != "" && now.Before(refreshAt(c.issued, c.expires)) {
		return c.token, nil
	}
	if c.token != "" && now.Before(c.expires) {
		if err := c.obtain(ctx, http.MethodGet, nil); err == nil {
			return c.token, nil
		}
	}
	body := map[string]string{"identity": c.identity, "secret": c.secret}
	if err := c.obtain(ctx, http.MethodPost, body); err != nil {
		return "", fmt.Errorf("login as %s: %w", c.identity, err)
	}
	return c.token, nil
}

// obtain asks /api/tokens for a token; called with mu held.
func (c *client) obtain(ctx context.Context, method string, body any) error {
	var out struct {
		Token   string `json:"token"`
		Expires string `json:"expires"`
	}
	auth := ""
	if method == http.MethodGet {
		auth = c.token
	}
	if err := c.send(ctx, method, "/api/tokens", auth, body, &out); err != nil {
		return err
	}
	exp, err := time.Parse(time.RFC3339, out.Expires)
	if err != nil || out.Token == "" {
		return fmt.Errorf("token answer without token or expiry (expires %q)", out.Expires)
	}
	c.token, c.expires, c.issued = out.Token, exp, c.now()
	return nil
}

// do sends an authenticated request; a 401 (token revoked or NPM
// restarted with a new secret) drops the token and tries once more.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.bearer(ctx)
		if err != nil {
			return err
		}
		err = c.send(ctx, method, path, tok, in, out)
		if !hasCode(err, http.StatusUnauthorized) || attempt > 0 {
			return err
		}
		c.mu.Lock()
		if c.token == tok {
			c.token = ""
		}
		c.mu.Unlock()
	}
}

func (c *client) send(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		return &apiError{Code: resp.StatusCode, Message: msg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}
