package webhook

import (
	"fmt"
	"strings"

	"github.com/tinyforge/tinyforge/imageref"
)

// GitHub event names (the X-GitHub-Event header) that carry package pushes.
const (
	GitHubEventPackage         = "package"
	GitHubEventRegistryPackage = "registry_package" // legacy name of the same event
)

type githubEvent struct {
	Action          string         `json:"action"`
	Package         *githubPackage `json:"package"`
	RegistryPackage *githubPackage `json:"registry_package"`
}

type githubPackage struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	Ecosystem   string `json:"ecosystem"`
	PackageType string `json:"package_type"`
	Owner       struct {
		Login string `json:"login"`
	} `json:"owner"`
	PackageVersion *struct {
		PackageURL        string `json:"package_url"`
		UpdatedAt         string `json:"updated_at"`
		CreatedAt         string `json:"created_at"`
		ContainerMetadata *struct {
			Tag struct {
				Name   string `json:"name"`
				Digest string `json:"digest"`
			} `json:"tag"`
			Manifest struct {
				Digest    string `json:"digest"`
				MediaType string `json:"media_type"`
			} `json:"manifest"`
		} `json:"container_metadata"`
	} `json:"package_version"`
}

// ParseGitHub reads a GitHub webhook delivery of event (the X-GitHub-Event
// header) and returns the tagged container push it reports, published or
// updated in GHCR. Pings, other events, other package types and untagged
// versions are ErrIgnored. The caller has verified X-Hub-Signature-256;
// the delivery id (X-GitHub-Delivery) is the caller's to use: the body
// has none. SignedKey is the hash of body, which the signature covers.
func ParseGitHub(event, contentType string, body []byte) ([]Push, error) {
	switch event {
	case GitHubEventPackage, GitHubEventRegistryPackage:
	case "ping":
		return nil, ignored("ping")
	case "":
		return nil, fmt.Errorf("decode github event: no X-GitHub-Event header")
	default:
		return nil, ignored("github event %q is not a package event", event)
	}
	payload, err := jsonPayload("github event", contentType, body)
	if err != nil {
		return nil, err
	}
	var ev githubEvent
	if err := decodeJSON("github "+event+" event", payload, &ev); err != nil {
		return nil, err
	}
	pkg := ev.Package
	if event == GitHubEventRegistryPackage {
		pkg = ev.RegistryPackage
	}
	switch {
	case pkg == nil:
		return nil, fmt.Errorf("decode github %s event: no %q object", event, event)
	case ev.Action != "published" && ev.Action != "updated":
		return nil, ignored("package action %q", ev.Action)
	case !isContainerType(pkg.PackageType) && !isContainerType(pkg.Ecosystem):
		return nil, ignored("package %s is a %s package, not a container", pkg.Name, pkg.PackageType)
	case pkg.PackageVersion == nil || pkg.PackageVersion.ContainerMetadata == nil:
		return nil, fmt.Errorf("decode github %s event: package %s has no package_version.container_metadata", event, pkg.Name)
	}
	v := pkg.PackageVersion
	cm := v.ContainerMetadata
	tag := cm.Tag.Name
	if tag == "" || imageref.LooksLikeDigest(tag) {
		return nil, ignored("untagged version of %s (digest only)", pkg.Name)
	}
	host, repo, ok := imageref.SplitHost(v.PackageURL)
	if !ok {
		if pkg.Name == "" || pkg.Owner.Login == "" {
			return nil, fmt.Errorf("decode github %s event: no package_url and no owner/name to build the image from", event)
		}
		host, repo = "ghcr.io", pkg.Owner.Login+"/"+pkg.Name
	}
	what := "github " + event + " event"
	if err := checkTag(what, "package_version.container_metadata.tag.name", tag); err != nil {
		return nil, err
	}
	if err := checkDigest(what, "package_version.container_metadata.tag.digest", cm.Tag.Digest); err != nil {
		return nil, err
	}
	if err := checkDigest(what, "package_version.container_metadata.manifest.digest", cm.Manifest.Digest); err != nil {
		return nil, err
	}
	dgst := cm.Tag.Digest
	if dgst == "" {
		dgst = cm.Manifest.Digest
	}
	when := parseTime(v.UpdatedAt)
	if when.IsZero() {
		when = parseTime(v.CreatedAt)
	}
	return []Push{{
		Registry:   host,
		Repository: repo,
		Tag:        tag,
		Digest:     dgst,
		MediaType:  normalizeMediaType(cm.Manifest.MediaType),
		Time:       when,
		SignedKey:  signedKey(body),
	}}, nil
}

func isContainerType(s string) bool {
	s = strings.ToLower(s)
	return s == "container" || s == "docker"
}
