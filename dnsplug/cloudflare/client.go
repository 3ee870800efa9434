package cloudflare

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
)

// DefaultBaseURL is Cloudflare's API v4.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// envelope is every v4 answer: {"success", "errors", "result", "result_info"}.
type envelope struct {
	Success    bool            `json:"success"`
	Errors     []apiError      `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *resultInfo     `json:"result_info"`
}

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// call sends one request and decodes the envelope, retrying after a 429
// (waiting Retry-After, or an exponential back-off without one) and, for
// requests that are safe to repeat, after a 5xx. The token only ever goes
// into the Authorization header, never into an error.
func (z *Zone) call(ctx context.Context, method, path string, query url.Values, body any) (envelope, error) {
	what := method + " " + path
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return envelope{}, fmt.Errorf("cloudflare %s: %w", what, err)
		}
	}
	u := z.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
		if err != nil {
			return envelope{}, fmt.Errorf("cloudflare %s: %w", what, err)
		}
		req.Header.Set("Authorization", "Bearer "+z.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := z.http.Do(req)
		if err != nil {
			return envelope{}, fmt.Errorf("cloudflare %s: %w", what, err)
		}
		env, status, err := decode(resp)
		if err != nil {
			return envelope{}, fmt.Errorf("cloudflare %s: HTTP %d: %w", what, status, err)
		}
		retry := status == http.StatusTooManyRequests || (status >= 500 && method != http.MethodPost)
		if retry && attempt < z.attempts {
			wait := backoff
			if s := resp.Header.Get("Retry-After"); s != "" {
				if n, err := strconv.Atoi(s); err == nil && n >= 0 {
					wait = time.Duration(n) * time.Second
				}
			}
			wait = min(wait, z.maxWait)
			backoff *= 2
			if err := z.sleep(ctx, wait); err != nil {
				return envelope{}, fmt.Errorf("cloudflare %s: HTTP %d, then %w", what, status, err)
			}
			continue
		}
		if status >= 300 || !env.Success {
			return env, apiFailure(what, status, env.Errors)
		}
		return env, nil
	}
}

func decode(resp *http.Response) (envelope, int, error) {
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return envelope{}, resp.StatusCode, err
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return envelope{}, resp.StatusCode, fmt.Errorf("answer is not Cloudflare's JSON envelope: %.200q", raw)
	}
	return env, resp.StatusCode, nil
}

// apiFailure names the call, the HTTP status and Cloudflare's error codes
// and messages.
func apiFailure(what string, status int, errs []apiError) error {
	var parts []string
	for _, e := range errs {
		parts = append(parts, fmt.Sprintf("%d %s", e.Code, e.Message))
	}
	msg := fmt.Sprintf("cloudflare %s: HTTP %d: %s", what, status, strings.Join(parts, "; "))
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return fmt.Errorf("%s: %w", msg, dnsrec.ErrRefused)
	}
	return fmt.Errorf("%s", msg)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
