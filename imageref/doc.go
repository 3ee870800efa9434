// Package imageref owns the grammar and the normal form of container image
// references: parsing "nginx", "ghcr.io/acme/web:v1" or "host:5000/x@sha256:…"
// the way Docker does, the canonical registry host (lower case, Docker
// Hub's aliases folded into docker.io), the repository name two sources
// must agree on to mean the same image, and the tag and digest grammars.
//
// Every package that reads, compares or validates an image reference
// (labels, webhook, policy, secrets, registryapi, the intake) asks this one
// instead of keeping its own rule. It is a leaf: it imports no other
// tinyforge package.
package imageref
