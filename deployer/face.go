package deployer

import "github.com/tinyforge/tinyforge/labels"

// faceOptions copies a face's proxy settings onto its route. It is the one
// place where face labels reach the plugins: labels.Face does not carry TLS
// or an access list yet (the label schema work adds Face.TLS and
// Face.AccessList); when it does, set r.TLS and r.AccessList here. Until
// then every route takes the plugin's sidecar-wide defaults
// (--traefik-certresolver, --npm-certificate-id, --npm-access-list-id).
//
// With the label schema merged, the body is:
//
//	r.TLS = f.TLS
//	r.AccessList = f.AccessList
func faceOptions(*Route, *labels.Face) {}
