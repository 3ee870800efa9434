package imageref

import "strings"

// DockerHub is the registry host Docker normalises Docker Hub references to.
const DockerHub = "docker.io"

// dockerHubAPI is the host that serves the distribution API for docker.io.
const dockerHubAPI = "registry-1.docker.io"

// CanonicalHost lower-cases a registry host[:port] and folds Docker Hub's
// aliases (index.docker.io, registry-1.docker.io, registry.hub.docker.com)
// into docker.io: host names are case-insensitive, and credentials or
// allow-list entries given for any alias mean the same registry.
func CanonicalHost(h string) string {
	h = strings.ToLower(h)
	switch h {
	case "index.docker.io", dockerHubAPI, "registry.hub.docker.com":
		return DockerHub
	}
	return h
}

// APIHost is the host that answers the distribution API (/v2/) for a
// canonical registry host: docker.io is served by registry-1.docker.io.
func APIHost(host string) string {
	if host == DockerHub {
		return dockerHubAPI
	}
	return host
}

// IsHost reports whether s, a reference without a path, names a registry
// host rather than a Docker Hub repository: it has a dot or a port, is an
// IPv6 literal, or is localhost (Docker's rule for the first component of
// a reference).
func IsHost(s string) bool {
	if strings.Contains(s, "/") {
		return false
	}
	return strings.ContainsAny(s, ".:") || s == "localhost" || strings.HasPrefix(s, "[")
}

// SplitHost splits "host/path[:tag][@digest]", as registries write image
// URLs in their webhook payloads, into host and path. Unlike Parse, the
// first component is always the host: a payload names its registry
// explicitly. ok is false when the host or the path is missing.
func SplitHost(image string) (host, path string, ok bool) {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	host, path, ok = strings.Cut(image, "/")
	return host, path, ok && host != "" && path != ""
}
