package notify

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"github.com/tinyforge/tinyforge/labels"
)

// target is one configured destination: a name, and a shoutrrr service
// built from its URL. The URL itself is kept only as the pieces to scrub
// from error texts: it carries credentials and is never logged.
type target struct {
	name   string
	scheme string
	svc    types.Service
	scrub  []string
}

// parseEntry splits "NAME=URL". The error never quotes the entry, which
// holds a secret.
func parseEntry(entry string) (name, rawURL string, err error) {
	name, rawURL, ok := strings.Cut(strings.TrimSpace(entry), "=")
	if !ok || rawURL == "" {
		return "", "", errors.New("want NAME=URL")
	}
	if !labels.ValidNotifyTarget(name) {
		return "", "", fmt.Errorf("target name %q: want 1-32 of a-z, 0-9, '-', '_', starting with a letter or digit", name)
	}
	if name == None {
		return "", "", fmt.Errorf("target name %q is reserved (--notify-default %s turns default messages off)", name, None)
	}
	return name, rawURL, nil
}

// newTarget builds the shoutrrr service of rawURL. Its errors name the
// target and the scheme, never the URL.
func newTarget(name, rawURL string) (*target, error) {
	t := &target{name: name, scheme: schemeOf(rawURL), scrub: secretParts(rawURL)}
	var r router.ServiceRouter // no logger: shoutrrr would log the URL
	svc, err := r.Locate(rawURL)
	if err != nil {
		return nil, fmt.Errorf("notify target %s (%s): %s", name, t.scheme, t.redact(locateError(err)))
	}
	t.svc = svc
	return t, nil
}

// locateError describes why shoutrrr refused a URL, by its sentinels: the
// wrapped texts quote the URL.
func locateError(err error) string {
	switch {
	case errors.Is(err, router.ErrUnknownService):
		return "unknown service (see shoutrrr's list of services)"
	case errors.Is(err, router.ErrParseURLFailed):
		return "not a URL"
	case errors.Is(err, router.ErrCustomURLsNotSupported):
		return "this service takes no scheme+URL form"
	case errors.Is(err, router.ErrCustomURLConversion):
		return "the scheme+URL form cannot be converted"
	case errors.Is(err, router.ErrInitializeFailed):
		return "the service refused the URL (a required part is missing or malformed)"
	}
	return err.Error()
}

// schemeOf is the scheme of rawURL for logs, or "?" when it has none.
func schemeOf(rawURL string) string {
	s, _, ok := strings.Cut(rawURL, "://")
	if !ok || s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')
	}) {
		return "?"
	}
	return strings.ToLower(s)
}

// secretParts are the pieces of rawURL that may carry a credential: the
// whole URL, user and password, host (Slack and Discord put tokens
// there), path segments and query values, longest first so that a longer
// piece is scrubbed before a piece inside it.
func secretParts(rawURL string) []string {
	parts := []string{rawURL}
	if u, err := url.Parse(rawURL); err == nil {
		if u.User != nil {
			parts = append(parts, u.User.String(), u.User.Username())
			if p, ok := u.User.Password(); ok {
				parts = append(parts, p)
			}
		}
		parts = append(parts, u.Host, u.Hostname(), u.RawQuery, u.Path, u.EscapedPath())
		for _, seg := range strings.Split(u.Path, "/") {
			parts = append(parts, seg, url.PathEscape(seg))
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				parts = append(parts, v, url.QueryEscape(v))
			}
		}
	}
	var out []string
	for _, p := range parts {
		if len(p) >= 3 { // shorter pieces would scrub ordinary words
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// redact removes every secret part of the target's URL from s.
func (t *target) redact(s string) string {
	for _, p := range t.scrub {
		s = strings.ReplaceAll(s, p, "***")
	}
	return s
}
