package registryapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// authorize answers a 401 challenge: a bearer token from the challenge's
// realm (anonymous unless there are credentials), or Basic credentials.
// It returns "" when nothing can be tried, and the registry's 401 stands.
func (r *Resolver) authorize(ctx context.Context, host, path string, challenges []string) (string, error) {
	user, pass, haveCreds := "", "", false
	if r.Credentials != nil {
		user, pass, haveCreds = r.Credentials(host)
	}
	for _, c := range challenges {
		scheme, params := parseChallenge(c)
		switch strings.ToLower(scheme) {
		case "bearer":
			if params["realm"] == "" {
				return "", fmt.Errorf("bearer challenge without realm: %q", c)
			}
			scope := params["scope"]
			if scope == "" {
				scope = "repository:" + path + ":pull"
			}
			tok, err := r.token(ctx, host, params["realm"], params["service"], scope, user, pass, haveCreds)
			if err != nil {
				return "", err
			}
			return "Bearer " + tok, nil
		case "basic":
			if haveCreds {
				return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), nil
			}
		}
	}
	return "", nil
}

// token fetches a token from realm, as the distribution token spec says:
// GET realm?service=...&scope=..., Basic auth when there are credentials;
// only from a realm checkRealm allows for the registry host.
func (r *Resolver) token(ctx context.Context, host, realm, service, scope, user, pass string, haveCreds bool) (string, error) {
	u, err := url.Parse(realm)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("token realm %q is not an http(s) URL", realm)
	}
	if err := r.checkRealm(host, u); err != nil {
		return "", err
	}
	q := u.Query()
	if service != "" {
		q.Set("service", service)
	}
	q.Set("scope", scope)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	if haveCreds {
		req.SetBasicAuth(user, pass)
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("token from %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token from %s: %s", u.Host, resp.Status)
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return "", fmt.Errorf("token from %s: %w", u.Host, err)
	}
	if body.Token == "" {
		body.Token = body.AccessToken
	}
	if body.Token == "" {
		return "", errors.New("token from " + u.Host + ": empty token")
	}
	return body.Token, nil
}

// parseChallenge splits a WWW-Authenticate value into its scheme and its
// auth-params (RFC 7235): `Bearer realm="https://a/token",service="reg"`.
// Quoted values may hold commas (scopes do) and backslash escapes.
func parseChallenge(s string) (string, map[string]string) {
	s = strings.TrimSpace(s)
	scheme, rest, _ := strings.Cut(s, " ")
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		after = strings.TrimLeft(after, " ")
		var val string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				b.WriteByte(after[i])
			}
			val, rest = b.String(), after[min(i+1, len(after)):]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			rest = "," + rest
		}
		params[key] = strings.TrimSpace(val)
		rest = strings.TrimLeft(strings.TrimSpace(rest), ",")
		rest = strings.TrimSpace(rest)
	}
	return scheme, params
}
