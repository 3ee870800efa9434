package registryapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// countingTransport counts the tag list requests that reach a registry.
type countingTransport struct{ lists atomic.Int32 }

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/tags/list") {
		c.lists.Add(1)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestTagsRealRegistry lists tags from a real docker-registry
// (distribution 2.8). That version answers the whole list whatever n asks
// (it paginates repository catalogs, not tag lists), so the Link-header
// paging is proven against the fake registry below.
func TestTagsRealRegistry(t *testing.T) {
	reg := testsvc.Registry(t, nil)
	ctx := context.Background()
	want := []string{"latest", "v1.2.0", "v1.10.0", "v1.9.0", "v2.0.0-rc.1"}
	for _, tag := range want {
		testsvc.UploadImage(t, reg.Host, "team/web", tag)
	}
	testsvc.UploadImage(t, reg.Host, "team/other", "v9.9.9")
	slices.Sort(want)

	for _, pageSize := range []int{0, 2, 100} {
		count := &countingTransport{}
		r := Resolver{PageSize: pageSize, Client: &http.Client{Transport: count}}
		got, err := r.Tags(ctx, reg.Ref("team/web"))
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("page size %d: Tags = %q, %v; want %q", pageSize, got, err, want)
		}
		if n := count.lists.Load(); n < 1 || n > 3 {
			t.Errorf("page size %d: %d tag list requests for 5 tags", pageSize, n)
		}
	}

	var r Resolver
	_, err := r.Tags(ctx, reg.Ref("team/nope"))
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), reg.Ref("team/nope")) {
		t.Errorf("unknown repository: %v, want ErrNotFound naming %s", err, reg.Ref("team/nope"))
	}
	for _, bad := range []string{reg.Ref("team/web:v1"), reg.Ref("team/web@sha256:" + strings.Repeat("a", 64)), "UPPER/case"} {
		if _, err := r.Tags(ctx, bad); err == nil || !strings.Contains(err.Error(), "list tags of") {
			t.Errorf("Tags(%q) = %v, want an error", bad, err)
		}
	}
}

// fakeTagRegistry serves a tag list in pages behind a bearer token, with
// its next links written by the test.
type fakeTagRegistry struct {
	srv    *httptest.Server
	tokens atomic.Int32
	// link returns the Link header of the page after last ("" for the first).
	link   func(last string) string
	status int // answer of tag list requests when set
}

func newFakeTagRegistry(t *testing.T, pages [][]string) *fakeTagRegistry {
	f := &fakeTagRegistry{}
	f.link = func(last string) string {
		for i, p := range pages[:len(pages)-1] {
			if (i == 0 && last == "") || (i > 0 && pages[i-1][len(pages[i-1])-1] == last) {
				return fmt.Sprintf(`</v2/org/app/tags/list?n=%d&last=%s>; rel="next"`, len(p), p[len(p)-1])
			}
		}
		return ""
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			f.tokens.Add(1)
			_, _ = w.Write([]byte(`{"token":"tok-456"}`))
		case r.Header.Get("Authorization") != "Bearer tok-456":
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+f.srv.URL+`/token",service="fake"`)
			w.WriteHeader(http.StatusUnauthorized)
		case f.status != 0:
			w.WriteHeader(f.status)
		case r.URL.Path == "/v2/org/app/tags/list":
			last := r.URL.Query().Get("last")
			page := pages[0]
			for i := 1; i < len(pages); i++ {
				if pages[i-1][len(pages[i-1])-1] == last {
					page = pages[i]
				}
			}
			if l := f.link(last); l != "" {
				w.Header().Set("Link", l)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"name":"org/app","tags":["%s"]}`, strings.Join(page, `","`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTagRegistry) image() string {
	return strings.TrimPrefix(f.srv.URL, "http://") + "/org/app"
}

func TestTagsPagesBehindAToken(t *testing.T) {
	ctx := context.Background()
	f := newFakeTagRegistry(t, [][]string{{"a", "b"}, {"c", "d"}, {"e"}})
	var r Resolver
	got, err := r.Tags(ctx, f.image())
	if err != nil || !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("Tags = %q, %v", got, err)
	}
	if n := f.tokens.Load(); n != 1 {
		t.Errorf("%d token requests for three pages, want 1: the token is reused", n)
	}

	// An absolute next link on the same registry is followed too.
	f.link = func(last string) string {
		if last == "" {
			return `<` + f.srv.URL + `/v2/org/app/tags/list?last=b>; rel="next"; type="x"`
		}
		return ""
	}
	if got, err := r.Tags(ctx, f.image()); err != nil || !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("absolute link: %q, %v", got, err)
	}

	for name, link := range map[string]string{
		"another host":   `<http://elsewhere.example/v2/org/app/tags/list?last=b>; rel="next"`,
		"another scheme": `<https://` + strings.TrimPrefix(f.srv.URL, "http://") + `/v2/org/app/tags/list?last=b>; rel="next"`,
	} {
		f.link = func(string) string { return link }
		if _, err := r.Tags(ctx, f.image()); err == nil || !strings.Contains(err.Error(), "leaves the registry") {
			t.Errorf("%s: %v, want the link refused", name, err)
		}
	}
	f.link = func(string) string { return `</v2/org/app/tags/list>; rel="next"` }
	if _, err := r.Tags(ctx, f.image()); err == nil || !strings.Contains(err.Error(), "points back at a page already read") {
		t.Errorf("a link loop: %v", err)
	}
	f.link = func(string) string { return `</v2/org/app/tags/list?last=b>; rel="prev"` }
	if got, err := r.Tags(ctx, f.image()); err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("a prev link only: %q, %v", got, err)
	}

	f.status = http.StatusInternalServerError
	_, err = r.Tags(ctx, f.image())
	if err == nil || !strings.Contains(err.Error(), "list tags of "+f.image()) || !strings.Contains(err.Error(), "500") {
		t.Errorf("a failing registry: %v, want the registry, repository and status named", err)
	}
}

func TestNextLink(t *testing.T) {
	page := "https://reg.example/v2/app/tags/list?n=2"
	for _, tc := range []struct {
		links []string
		want  string
	}{
		{nil, ""},
		{[]string{`</v2/app/tags/list?n=2&last=b>; rel="next"`}, "https://reg.example/v2/app/tags/list?n=2&last=b"},
		{[]string{`<https://reg.example/v2/app/tags/list?last=b>;rel=next`}, "https://reg.example/v2/app/tags/list?last=b"},
		{[]string{`</first>; rel="first", </v2/app/tags/list?last=z>; rel="next last"`}, "https://reg.example/v2/app/tags/list?last=z"},
		{[]string{`</a>; rel="prev"`, `</b>; REL="Next"`}, "https://reg.example/b"},
		{[]string{`garbage`, `</c>`}, ""},
	} {
		got, err := nextLink(page, tc.links)
		if err != nil || got != tc.want {
			t.Errorf("nextLink(%q) = %q, %v; want %q", tc.links, got, err, tc.want)
		}
	}
}
