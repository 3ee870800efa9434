package registryapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge/imageref"
)

// Bounds of a tag listing, so a broken or hostile registry cannot keep a
// poller paging or buffering forever.
const (
	// maxTagPages is the most pages Tags follows.
	maxTagPages = 1000
	// maxTagPage is the most bytes of one page's body Tags reads.
	maxTagPage = 4 << 20
	// maxTags is the most tags Tags returns.
	maxTags = 100_000
)

// Tags lists the tags of an image repository ("ghcr.io/o/app"), following
// the registry's Link-header pagination (GET /v2/<name>/tags/list, then
// each rel="next" link) with the same credentials and token dance as
// Digest. PageSize, when set, is sent as n. The tags come in the
// registry's order (distribution sorts them lexically); a repository the
// registry does not know is ErrNotFound.
func (r *Resolver) Tags(ctx context.Context, image string) ([]string, error) {
	ref, err := imageref.Parse(image)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", image, err)
	}
	if ref.Tag != "" || ref.Digest != "" {
		return nil, fmt.Errorf("list tags of %s: give the repository only, without tag or digest", image)
	}
	if err := r.allow(image); err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", image, err)
	}
	host, path := ref.Host, ref.Path
	what := host + "/" + path
	next := r.baseURL(host) + "/v2/" + path + "/tags/list"
	if r.PageSize > 0 {
		next += "?n=" + strconv.Itoa(r.PageSize)
	}

	var tags []string
	seen := map[string]bool{}
	auth := ""
	for page := 0; next != ""; page++ {
		if page == maxTagPages {
			return nil, fmt.Errorf("list tags of %s: more than %d pages", what, maxTagPages)
		}
		if seen[next] {
			return nil, fmt.Errorf("list tags of %s: the registry's next link %s points back at a page already read", what, next)
		}
		seen[next] = true
		var names []string
		names, next, err = r.tagPage(ctx, next, host, path, &auth)
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", what, err)
		}
		tags = append(tags, names...)
		if len(tags) > maxTags {
			return nil, fmt.Errorf("list tags of %s: more than %d tags", what, maxTags)
		}
	}
	return tags, nil
}

// tagPage fetches one page of a tag list and returns its tags and the
// absolute URL of the next page, "" on the last one.
func (r *Resolver) tagPage(ctx context.Context, pageURL, host, path string, auth *string) (tags []string, next string, err error) {
	resp, err := r.send(ctx, http.MethodGet, pageURL, "application/json", host, path, auth)
	if err != nil {
		return nil, "", err
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, "", ErrNotFound
	default:
		return nil, "", fmt.Errorf("GET %s: %s", pageURL, resp.Status)
	}
	var body struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTagPage)).Decode(&body); err != nil {
		return nil, "", fmt.Errorf("GET %s: decode the tag list: %w", pageURL, err)
	}
	next, err = nextLink(pageURL, resp.Header.Values("Link"))
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", pageURL, err)
	}
	return body.Tags, next, nil
}

// nextLink finds the rel="next" target among Link header values (RFC
// 8288: `</v2/app/tags/list?last=b&n=2>; rel="next"`) and resolves it
// against the page's URL. The next page must be on the same scheme and
// host: the credentials are for that registry only.
func nextLink(pageURL string, links []string) (string, error) {
	for _, value := range links {
		for link := range strings.SplitSeq(value, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") || !isNext(params) {
				continue
			}
			base, err := url.Parse(pageURL)
			if err != nil {
				return "", err
			}
			u, err := base.Parse(target[1 : len(target)-1])
			if err != nil {
				return "", fmt.Errorf("next link %s: %w", target, err)
			}
			if u.Scheme != base.Scheme || u.Host != base.Host {
				return "", fmt.Errorf("next link %s leaves the registry %s", target, base.Host)
			}
			return u.String(), nil
		}
	}
	return "", nil
}

// isNext tells whether a link's parameters hold rel="next" (rel may list
// several space-separated relation types).
func isNext(params string) bool {
	for param := range strings.SplitSeq(params, ";") {
		key, val, _ := strings.Cut(strings.TrimSpace(param), "=")
		if !strings.EqualFold(strings.TrimSpace(key), "rel") {
			continue
		}
		for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(val), `"`)) {
			if strings.EqualFold(rel, "next") {
				return true
			}
		}
	}
	return false
}
