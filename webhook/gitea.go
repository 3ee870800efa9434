package webhook

import (
	"fmt"
	"net/url"

	"github.com/tinyforge/tinyforge/imageref"
)

// GiteaEventPackage is the X-Gitea-Event / X-Forgejo-Event value of a
// package event.
const GiteaEventPackage = "package"

type giteaEvent struct {
	Action  string `json:"action"`
	Package *struct {
		Owner struct {
			Login    string `json:"login"`
			UserName string `json:"username"`
		} `json:"owner"`
		Type      string `json:"type"`
		Name      string `json:"name"`
		Version   string `json:"version"`
		HTMLURL   string `json:"html_url"`
		CreatedAt string `json:"created_at"`
	} `json:"package"`
}

// ParseGitea reads a Gitea or Forgejo package event (the X-Gitea-Event or
// X-Forgejo-Event header names event) and returns the container tag it
// created. The registry host is the host of the package's html_url: the
// container registry of a Gitea instance lives at its root. Versions that
// are digests ("sha256:..."), the per-platform manifests of a multi-arch
// push, are ErrIgnored like deletions and other package types. Gitea sends
// no digest; the caller resolves it. SignedKey is the hash of the JSON
// payload, which is what the signature covers (a form body is re-encodable).
func ParseGitea(event, contentType string, body []byte) ([]Push, error) {
	switch event {
	case GiteaEventPackage:
	case "":
		return nil, fmt.Errorf("decode gitea event: no X-Gitea-Event or X-Forgejo-Event header")
	default:
		return nil, ignored("gitea event %q is not a package event", event)
	}
	payload, err := jsonPayload("gitea event", contentType, body)
	if err != nil {
		return nil, err
	}
	var ev giteaEvent
	if err := decodeJSON("gitea package event", payload, &ev); err != nil {
		return nil, err
	}
	p := ev.Package
	switch {
	case p == nil:
		return nil, fmt.Errorf(`decode gitea package event: no "package" object`)
	case ev.Action != "created":
		return nil, ignored("package action %q", ev.Action)
	case p.Type != "container":
		return nil, ignored("package %s is a %s package, not a container", p.Name, p.Type)
	case p.Version == "":
		return nil, fmt.Errorf("decode gitea package event: package %s has no version", p.Name)
	case imageref.LooksLikeDigest(p.Version):
		return nil, ignored("digest-only version %s of %s (a platform manifest, not a tag)", p.Version, p.Name)
	}
	if err := checkTag("gitea package event", "package.version", p.Version); err != nil {
		return nil, err
	}
	owner := p.Owner.Login
	if owner == "" {
		owner = p.Owner.UserName
	}
	u, err := url.Parse(p.HTMLURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("decode gitea package event: package.html_url %q does not name the registry host", p.HTMLURL)
	}
	if owner == "" || p.Name == "" {
		return nil, fmt.Errorf("decode gitea package event: package owner or name missing")
	}
	return []Push{{
		Registry:   u.Host,
		Repository: owner + "/" + p.Name,
		Tag:        p.Version,
		Time:       parseTime(p.CreatedAt),
		SignedKey:  signedKey(payload),
	}}, nil
}
